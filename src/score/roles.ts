/**
 * The tensor roles of docs/model-manifest.md: what the server binds by role, with the dtype and
 * rank the contract fixes. Names and dims come from the manifest; only roles live here.
 */

export type TensorDtype = 'int64' | 'float32';
export type GraphName = 'textEncoder' | 'fusion';

/** Dtype, rank, and whether the server cannot run without it. */
export interface RoleSpec {
  dtype: TensorDtype;
  rank: number;
  required: boolean;
}

/** Every role per graph and direction. `text.token_type_ids` and `beta` are optional. */
export const GRAPH_ROLES: Record<GraphName, { inputs: Record<string, RoleSpec>; outputs: Record<string, RoleSpec> }> = {
  textEncoder: {
    inputs: {
      'text.input_ids': { dtype: 'int64', rank: 2, required: true },
      'text.attention_mask': { dtype: 'int64', rank: 2, required: true },
      'text.token_type_ids': { dtype: 'int64', rank: 2, required: false },
    },
    outputs: {
      'text.token_embeddings': { dtype: 'float32', rank: 3, required: true },
    },
  },
  fusion: {
    inputs: {
      'audio.pcm': { dtype: 'float32', rank: 2, required: true },
      'audio.length': { dtype: 'int64', rank: 1, required: true },
      'text.embeddings': { dtype: 'float32', rank: 3, required: true },
      'text.mask': { dtype: 'float32', rank: 2, required: true },
      'video.frames': { dtype: 'float32', rank: 3, required: true },
      'video.mask': { dtype: 'float32', rank: 2, required: true },
      presence: { dtype: 'float32', rank: 2, required: true },
    },
    outputs: {
      valence: { dtype: 'float32', rank: 1, required: true },
      alpha: { dtype: 'float32', rank: 2, required: true },
      beta: { dtype: 'float32', rank: 2, required: false },
    },
  },
};
