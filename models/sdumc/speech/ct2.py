"""Reader of CTranslate2's `model.bin` (binary version 4 and later 3-6), no ctranslate2 needed.

Layout, as ctranslate2/specs/model_spec.py `_serialize` writes it (all little-endian):
  uint32 version; string spec name; uint32 spec revision; uint32 variable count;
  per variable: string name, uint8 rank, uint32 dims[rank], uint8 dtype id, uint32 byte count,
  raw bytes; then uint32 alias count and (alias, target) string pairs.
A string is a uint16 length (the trailing NUL included) and that many bytes.
"""
from __future__ import annotations

import struct
from dataclasses import dataclass
from pathlib import Path

import numpy as np

# Order of ctranslate2's DataType enum (include/ctranslate2/types.h).
_DTYPES = (np.float32, np.int8, np.int16, np.int32, np.float16, None)  # 5 = bfloat16, not read here


@dataclass
class Ct2Model:
    """The variables of one model.bin: name -> array (float16 stays float16), aliases resolved."""

    version: int
    spec: str
    revision: int
    variables: dict[str, np.ndarray]


def read_ct2(path: Path) -> Ct2Model:
    """Reads every variable of `path` into numpy arrays. Raises ValueError on an unknown
    version or dtype, or a file that ends early."""
    buf = Path(path).read_bytes()
    pos = 0

    def take(fmt: str) -> tuple:
        nonlocal pos
        size = struct.calcsize(fmt)
        if pos + size > len(buf):
            raise ValueError(f"{path}: ends at byte {len(buf)} inside a record")
        vals = struct.unpack_from(fmt, buf, pos)
        pos += size
        return vals

    def string() -> str:
        nonlocal pos
        (n,) = take("<H")
        s = buf[pos:pos + n - 1].decode("utf-8")
        pos += n
        return s

    (version,) = take("<I")
    if not 3 <= version <= 6:
        raise ValueError(f"{path}: binary version {version} is not supported (3..6)")
    spec = string()
    (revision,) = take("<I")
    (count,) = take("<I")
    variables: dict[str, np.ndarray] = {}
    for _ in range(count):
        name = string()
        (rank,) = take("<B")
        shape = take(f"<{rank}I") if rank else ()
        (type_id,) = take("<B")
        (nbytes,) = take("<I")
        dtype = _DTYPES[type_id] if type_id < len(_DTYPES) else None
        if dtype is None:
            raise ValueError(f"{path}: variable {name} has dtype id {type_id}, not supported")
        if pos + nbytes > len(buf):
            raise ValueError(f"{path}: ends at byte {len(buf)} inside variable {name}")
        arr = np.frombuffer(buf, dtype=dtype, count=nbytes // np.dtype(dtype).itemsize, offset=pos)
        pos += nbytes
        variables[name] = arr.reshape(shape).copy()
    (n_alias,) = take("<I")
    for _ in range(n_alias):
        alias, target = string(), string()
        variables[alias] = variables[target]
    if pos != len(buf):
        raise ValueError(f"{path}: {len(buf) - pos} bytes after the last record")
    return Ct2Model(version, spec, revision, variables)
