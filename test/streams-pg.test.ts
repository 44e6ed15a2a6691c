import { afterAll } from 'vitest';
import { openStreams, type ProgressStreams } from '../src/lro/streams/index.js';
import { openTestLro } from './helpers/lro.js';
import { streamContract } from './helpers/streams-contract.js';

const { lro } = await openTestLro();
const streams: ProgressStreams = await openStreams('pg', { db: lro.db, listener: lro.listener });
afterAll(() => streams.close());

streamContract('pg', () => streams);
