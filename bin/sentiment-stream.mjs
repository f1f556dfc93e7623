#!/usr/bin/env node
// The `sentiment-stream` command (package.json "bin"): runs the TypeScript CLI through tsx,
// as `npm start` runs the server, so no build step is needed after `npm ci`.
import { register } from 'tsx/esm/api';

register();
await import('../src/cli/main.ts');
