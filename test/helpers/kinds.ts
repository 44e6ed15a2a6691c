import { defaultKinds } from '../../src/lro/engine.js';
import { probeKind } from '../fixtures/probe-kind.js';

/** The built-in kinds plus the test-only `probe` kind. */
export const testKinds = () => defaultKinds().register(probeKind);
