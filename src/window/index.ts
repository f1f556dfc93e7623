/** The window stage: see README.md in this folder. */
export { Windower, type WindowEvent } from './windower.js';
export { DEFAULT_WINDOW_OPTIONS, DEFAULT_VAD, resolveWindowOptions, type WindowOptions, type WindowOptionsInput, type VadOptions } from './options.js';
