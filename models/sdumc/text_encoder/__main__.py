"""python -m sdumc.text_encoder: export, benchmark or convert the served text graph
(usage in sdumc/text_encoder/__init__.py)."""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from sdumc.text_tune import load_tuned, summary

from . import __doc__ as PACKAGE_DOC
from .bench import bench
from .contract import INFO_FILE, INT8_FILE, MAX_TOKENS, TOKENIZER_FILE
from .export import export
from .quantise import QUANTISATION, u8_weights
from .vader import vader_texts


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m sdumc.text_encoder", description=PACKAGE_DOC.split("\n\n")[0])
    ap.add_argument("--out", type=Path, help="export the int8 graph + tokenizer.json into this folder")
    ap.add_argument("--max-tokens", type=int, default=MAX_TOKENS, help="truncation (default 64)")
    ap.add_argument("--tuned", type=Path, help="a python -m sdumc.text_tune checkpoint (default: packaged weights)")
    ap.add_argument("--distilled", type=Path,
                    help="a python -m sdumc.text_distil checkpoint; its teacher's provenance is read from "
                         "--out's text_encoder.json (the graph it was distilled from)")
    ap.add_argument("--requantise", type=Path, metavar="GRAPH",
                    help="re-quantise the weights of this exported int8 graph (dequantised, "
                         "sdumc.text_distil.teacher_from_graph) into --out, e.g. with --seven-bit; keeps "
                         "the 'tuned' entry of GRAPH's text_encoder.json and records where the weights came from")
    ap.add_argument("--teacher-dir", type=Path, help="folder of the graph --distilled was distilled from (default --out)")
    ap.add_argument("--seven-bit", action="store_true",
                    help="7-bit int8 weights: U8S8 kernels, exact on every CPU (docs/model.md)")
    ap.add_argument("--bench", type=Path, help="benchmark text_encoder.int8.onnx in this folder")
    ap.add_argument("--u8-weights", type=Path, metavar="DIR",
                    help="convert DIR's int8 graph to uint8 weights in place (same numbers on every CPU; "
                         "then refresh its golden.json: python -m sdumc.golden --refresh-text DIR)")
    a = ap.parse_args(argv)
    try:
        if not a.out and not a.bench and not a.u8_weights:
            raise ValueError("nothing to do: give --out, --bench or --u8-weights")
        if a.u8_weights:
            graph = a.u8_weights / INT8_FILE
            if not graph.is_file():
                raise FileNotFoundError(f"no {INT8_FILE} in {a.u8_weights}")
            n = u8_weights(graph)
            info_path = a.u8_weights / INFO_FILE
            if info_path.is_file():
                info = json.loads(info_path.read_text())
                info["quantisation"] = QUANTISATION
                info_path.write_text(json.dumps(info, indent=1) + "\n")
            print(f"{graph}: {n} weights converted to uint8" if n else f"{graph}: weights already uint8")
        if not 2 < a.max_tokens <= 512:
            raise ValueError(f"--max-tokens {a.max_tokens} must be in 3..512")
        if (a.tuned or a.distilled or a.requantise) and not a.out:
            raise ValueError("--tuned, --distilled and --requantise need --out")
        if sum(x is not None for x in (a.tuned, a.distilled, a.requantise)) > 1:
            raise ValueError("give one of --tuned, --distilled, --requantise")
        if a.out:
            model, tuned, distilled, requantised = None, None, None, None
            if a.tuned:
                model, tuned = load_tuned(a.tuned), summary(a.tuned)
            if a.distilled:
                from sdumc.text_distil import load_distilled, provenance
                model = load_distilled(a.distilled)
                distilled, tuned = provenance(a.distilled, a.teacher_dir or a.out)
            if a.requantise:
                from sdumc.text_distil import requantise_source, teacher_from_graph
                model = teacher_from_graph(a.requantise)
                requantised, tuned = requantise_source(a.requantise)
            p = export(a.out, a.max_tokens, model, tuned, distilled, a.seven_bit, requantised)
            print(f"wrote {p} ({p.stat().st_size / 1e6:.1f} MB) and {a.out / TOKENIZER_FILE}")
        if a.bench:
            r = bench(a.bench / INT8_FILE, vader_texts(256))
            print(json.dumps({k: round(v, 1) for k, v in r.items()}), "sentences/s (int8, onnxruntime python)")
    except (ValueError, FileNotFoundError, RuntimeError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
