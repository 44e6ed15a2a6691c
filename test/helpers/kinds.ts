import { defaultKinds } from '../../src/app/lro.js';
import { probeKind } from '../fixtures/probe-kind.js';

/** The built-in kinds plus the test-only `probe` kind. */
export const testKinds = () => defaultKinds().register(probeKind);
