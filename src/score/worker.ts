/**
 * Scoring worker thread: owns one ModelRunner (two onnxruntime sessions) and, with the speech path
 * on, one SpeechRecogniser (two more), all opened once when the worker starts; runs one batch at a
 * time, so session.run never blocks the main event loop. Started by pool.ts; speaks protocol.ts.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { AppError, toAppError } from '../core/errors.js';
import { ModelRunner } from './inference.js';
import type { FromWorker, ToWorker, WireError, WorkerInit } from './protocol.js';
import { SpeechRoute } from './speech-route.js';
import { SpeechRecogniser } from './speech/recogniser.js';

const init = workerData as WorkerInit;
const port = parentPort!;
const send = (m: FromWorker, transfer: ArrayBuffer[] = []): void => port.postMessage(m, transfer);
const wire = (e: unknown): WireError => {
  const a = toAppError(e, 'SCORER_FAILED');
  return { code: a.code, message: a.message, details: a.details };
};

// A fault drill's crash: thrown outside any handler at the next turn of this thread's loop, so it
// lands between two onnxruntime calls (never inside one) and ends the worker as an uncaught
// exception does. Listening from the start also covers a worker still loading its model.
port.on('message', (msg: ToWorker) => {
  if (msg.type === 'crash') {
    setImmediate(() => {
      throw new Error(`fault drill: ${msg.reason}`);
    });
  }
});

try {
  const runner = await ModelRunner.open(init.manifest, { providers: init.providers, intraOpThreads: init.intraOpThreads, textBatch: init.textBatch });
  const recogniser = init.speechModelDir === null ? null : await SpeechRecogniser.open(init.speechModelDir, {
    intraOpThreads: init.intraOpThreads,
    minContextSeconds: init.speechMinContextMs === null ? undefined : init.speechMinContextMs / 1000,
  });
  const speech = new SpeechRoute(recogniser, init.manifest);
  port.on('message', async (msg: ToWorker) => {
    if (msg.type !== 'run') return;
    try {
      const t0 = performance.now();
      const { inputs, routes } = await speech.route(msg.segments);
      const speechMs = performance.now() - t0;
      const out = await runner.run(inputs);
      // Copies, so the transfer never detaches a buffer onnxruntime still owns.
      const valence = Float32Array.from(out.valence);
      const alpha = Float32Array.from(out.alpha);
      send({ type: 'done', id: msg.id, valence, alpha, routes, textMs: out.textMs, fusionMs: out.fusionMs, speechMs }, [valence.buffer, alpha.buffer]);
    } catch (e) {
      send({ type: 'failed', id: msg.id, error: wire(e) });
    }
  });
  send({ type: 'ready', provider: runner.provider, attempts: runner.attempts });
} catch (e) {
  const err = e instanceof AppError ? e : toAppError(e, 'MODEL_LOAD_FAILED');
  send({ type: 'fatal', error: wire(err) });
}
