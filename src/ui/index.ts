/** The embeddable bundle (`/assets/lro-progress.js`): the `<lro-progress>` element and `watchOp()`. */
export { LroProgressElement } from './lro-progress.js';
export { watchOp, type OpState, type PhaseState } from './watch-op.js';
