import { defaultKinds } from '../../src/app/lro.js';
import { probeKind } from '../fixtures/probe-kind.js';
import { remoteKind } from '../fixtures/remote-kind.js';

/** The built-in kinds plus the test-only `probe` and `remote` kinds. */
export const testKinds = () => defaultKinds().register(probeKind).register(remoteKind);
