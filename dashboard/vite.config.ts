/**
 * Builds the dashboard into dashboard/dist: `npx vite build --config dashboard/vite.config.ts`.
 * Preact's automatic JSX runtime through esbuild (no plugin package needed).
 */
import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vite';

const root = fileURLToPath(new URL('.', import.meta.url));

export default defineConfig({
  root,
  base: '/',
  esbuild: { jsx: 'automatic', jsxImportSource: 'preact' },
  build: { outDir: 'dist', emptyOutDir: true, sourcemap: true, target: 'es2022' },
  logLevel: 'warn',
});
