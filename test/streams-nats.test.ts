import { afterAll } from 'vitest';
import { NatsStreamBackend } from '../src/lro/streams/nats.js';
import { ProgressStreams } from '../src/lro/streams/index.js';
import { natsUrl } from './helpers/binaries.js';
import { streamContract } from './helpers/streams-contract.js';

/** The machine's NATS with JetStream (.ci/run makes sure it is up), or NATS_URL. */
const url = natsUrl();
const streams = new ProgressStreams(await NatsStreamBackend.connect(url));
// A second writer with a connection and a cache of subject positions of its own.
const other = new ProgressStreams(await NatsStreamBackend.connect(url));
afterAll(() => Promise.all([streams.close(), other.close()]));

streamContract(
  'nats',
  () => streams,
  () => other,
  async (clock) => new ProgressStreams(await NatsStreamBackend.connect(url, { clock })),
);
