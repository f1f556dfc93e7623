/**
 * Mixed-radix FFT for Whisper's n_fft = 400 (= 4 x 4 x 5 x 5), the kissfft scheme: recursive
 * decimation in time with a generic radix-p butterfly. ~7,200 complex multiply-adds per frame
 * instead of the 160,800 real ones of a direct DFT. Float64 throughout.
 */

export class Fft {
  private readonly twRe: Float64Array;
  private readonly twIm: Float64Array;
  private readonly factors: number[] = [];
  private readonly scratchRe = new Float64Array(8);
  private readonly scratchIm = new Float64Array(8);
  /** Output of the last transform (length n). */
  readonly re: Float64Array;
  readonly im: Float64Array;

  constructor(readonly n: number) {
    this.twRe = new Float64Array(n);
    this.twIm = new Float64Array(n);
    for (let i = 0; i < n; i++) {
      this.twRe[i] = Math.cos((-2 * Math.PI * i) / n);
      this.twIm[i] = Math.sin((-2 * Math.PI * i) / n);
    }
    let rest = n;
    for (const p of [4, 2, 3, 5]) {
      while (rest % p === 0) {
        this.factors.push(p);
        rest /= p;
      }
    }
    if (rest !== 1 || this.factors.some((p) => p > 8)) throw new Error(`Fft: ${n} is not a product of 2, 3, 4, 5`);
    this.re = new Float64Array(n);
    this.im = new Float64Array(n);
  }

  /** Forward transform of a real signal `x` (length n) into `re`/`im`. */
  real(x: Float64Array): void {
    this.work(0, x, 0, 1, 0);
  }

  private work(out: number, x: Float64Array, inAt: number, fstride: number, level: number): void {
    const p = this.factors[level];
    const m = this.n / fstride / p; // size of each sub-transform
    if (m === 1) {
      for (let q = 0; q < p; q++) {
        this.re[out + q] = x[inAt + q * fstride];
        this.im[out + q] = 0;
      }
    } else {
      for (let q = 0; q < p; q++) this.work(out + q * m, x, inAt + q * fstride, fstride * p, level + 1);
    }
    this.butterfly(out, fstride, m, p);
  }

  private butterfly(out: number, fstride: number, m: number, p: number): void {
    const { re, im, twRe, twIm, scratchRe: sr, scratchIm: si, n } = this;
    for (let u = 0; u < m; u++) {
      for (let q = 0, k = u; q < p; q++, k += m) {
        sr[q] = re[out + k];
        si[q] = im[out + k];
      }
      for (let q1 = 0, k = u; q1 < p; q1++, k += m) {
        let accRe = sr[0];
        let accIm = si[0];
        let tw = 0;
        for (let q = 1; q < p; q++) {
          tw += fstride * k;
          if (tw >= n) tw -= n;
          accRe += sr[q] * twRe[tw] - si[q] * twIm[tw];
          accIm += sr[q] * twIm[tw] + si[q] * twRe[tw];
        }
        re[out + k] = accRe;
        im[out + k] = accIm;
      }
    }
  }
}
