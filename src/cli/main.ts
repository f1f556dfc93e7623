/**
 * `sentiment-stream`: the project's command line.
 *
 *   sentiment-stream send call.wav [--transcript file.json] [--url ws://127.0.0.1:4000/ingest]
 *                    [--speed 1] [--call-id id] [--tenant t] [--token jwt | --api-key key] [--chunk-ms 100]
 *
 * Streams the WAV as a live call (mono = customer; stereo = customer left, agent right) and
 * prints each score as it is published, then a summary. Exit status: 0 when every record was
 * accepted, 1 when some were refused, 2 on a usage or connection error.
 */
import { readFileSync } from 'node:fs';
import { basename } from 'node:path';
import { parseArgs } from 'node:util';
import { sendCall, type SentScore, type TranscriptPiece } from './send.js';
import { parseWav } from './wav.js';

const USAGE = `usage: sentiment-stream send <file.wav> [--transcript pieces.json] [--url ws://127.0.0.1:4000/ingest]
         [--speed 1] [--call-id id] [--tenant t] [--token jwt | --api-key key] [--chunk-ms 100]
  --transcript  JSON array of {"channel":"customer","startMs":0,"endMs":1800,"text":"..."} (ms from the file's start)
  --speed       real-time factor: 1 live (default), 4 four times faster, 0 as fast as the server reads`;

function fail(message: string): never {
  process.stderr.write(`${message}\n${USAGE}\n`);
  process.exit(2);
}

function number(value: string | undefined, name: string, fallback: number): number {
  if (value === undefined) return fallback;
  const n = Number(value);
  if (!Number.isFinite(n) || n < 0) fail(`--${name} must be a number >= 0, got ${JSON.stringify(value)}`);
  return n;
}

function readTranscript(path: string): TranscriptPiece[] {
  const parsed: unknown = JSON.parse(readFileSync(path, 'utf8'));
  if (!Array.isArray(parsed)) fail(`${path}: expected a JSON array of transcript pieces`);
  return parsed.map((p: Record<string, unknown>, i) => {
    if (typeof p?.channel !== 'string' || typeof p.text !== 'string' || typeof p.startMs !== 'number' || typeof p.endMs !== 'number' || p.endMs < p.startMs) {
      fail(`${path}: piece ${i} needs channel, text, startMs <= endMs`);
    }
    return { channel: p.channel, startMs: p.startMs, endMs: p.endMs, text: p.text };
  });
}

async function send(argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv, allowPositionals: true, strict: true,
    options: {
      transcript: { type: 'string' }, url: { type: 'string' }, speed: { type: 'string' }, 'call-id': { type: 'string' },
      tenant: { type: 'string' }, token: { type: 'string' }, 'api-key': { type: 'string' }, 'chunk-ms': { type: 'string' },
    },
  });
  if (positionals.length !== 1) fail('send needs exactly one WAV file');
  const file = positionals[0];
  const wav = parseWav(readFileSync(file));
  const callId = values['call-id'] ?? `${basename(file).replace(/\.wav$/i, '')}-${Date.now().toString(36)}`;
  const url = values.url ?? 'ws://127.0.0.1:4000/ingest';
  const speed = number(values.speed, 'speed', 1);
  process.stdout.write(`streaming ${file} (${(wav.durationMs / 1000).toFixed(1)} s, ${wav.channels.length === 1 ? 'mono: customer' : 'stereo: customer + agent'}, ${wav.sampleRate} Hz) as call ${callId} to ${url} at ${speed === 0 ? 'full speed' : `${speed}x`}\n`);
  const summary = await sendCall({
    wav, url, callId, speed,
    transcript: values.transcript ? readTranscript(values.transcript) : undefined,
    tenant: values.tenant, token: values.token, apiKey: values['api-key'],
    chunkMs: number(values['chunk-ms'], 'chunk-ms', 100),
    displayName: basename(file),
    onScore: (s, t0) => process.stdout.write(`score ${s.channel.padEnd(8)} #${s.segmentIndex}.${s.revision} ${((s.startMs - t0) / 1000).toFixed(1)}-${((s.endMs - t0) / 1000).toFixed(1)} s  valence ${s.valence >= 0 ? '+' : ''}${s.valence.toFixed(3)} ${s.label} (text ${s.textSource.toLowerCase()})${scoreWords(s)}\n`),
    onRefused: (r) => process.stdout.write(`refused ${r.what}: ${r.code} ${r.message}\n`),
  });
  process.stdout.write(`done: ${summary.records} records, ${summary.acked} accepted, ${summary.refused.length} refused, ${summary.scores.length} scores\n`);
  return summary.refused.length ? 1 : 0;
}

async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  if (command === 'send') return send(rest);
  if (command === undefined || command === '--help' || command === '-h') {
    process.stdout.write(`${USAGE}\n`);
    return command === undefined ? 2 : 0;
  }
  fail(`unknown command ${JSON.stringify(command)}`);
}

main(process.argv.slice(2)).then((code) => process.exit(code), (err: unknown) => {
  process.stderr.write(`sentiment-stream: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(2);
});

/** The words a score rests on, as a supervisor would read them: the platform's or those heard here. */
function scoreWords(s: SentScore): string {
  const words = s.textSource === 'RECOGNISED' ? s.recognisedText : s.text;
  return words ? `  "${words}"` : '';
}
