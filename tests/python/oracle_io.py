"""Oracle for src/io: safetensors and .npy files written by the Python libraries, plus manifests.

Usage: python oracle_io.py OUTDIR   (run by make_testdata.py with OUTDIR=$EMBEDTUNE_TESTDATA/io)

Writes into OUTDIR:
  *.safetensors    by safetensors.numpy.save_file / safetensors.torch.save_file (0.8)
  safetensors.json {"files": [{file, metadata, byte_identical, tensors: [{name, dtype, shape,
                    data_offsets, sha256}]}]}  (sha256 of each tensor's little-endian bytes,
                    computed from the arrays handed to save_file, not from the file)
  model.json       the same for $EMBEDTUNE_DEFAULT_MODEL/model.safetensors, read with safe_open
  *.npy            by numpy.save (and numpy.lib.format.write_array for version 2.0)
  npy.json         {"arrays": [{file, descr, shape, sha256, error, f32_rewrite_identical}]}
"""
import hashlib
import json
import os
import pathlib
import sys

import numpy as np
import torch
from safetensors import safe_open
from safetensors.numpy import save_file as np_save_file
from safetensors.torch import save_file as torch_save_file

out = pathlib.Path(sys.argv[1])
out.mkdir(parents=True, exist_ok=True)
rng = np.random.default_rng(1234)


def sha(b: bytes) -> str:
    return hashlib.sha256(b).hexdigest()


def np_bytes(a: np.ndarray) -> bytes:
    return np.ascontiguousarray(a).astype(a.dtype.newbyteorder("<")).tobytes()


def torch_bytes(t: torch.Tensor) -> bytes:
    # Reinterpret as bytes (bf16 has no numpy dtype); the host is little-endian.
    return t.contiguous().view(torch.uint8).numpy().tobytes()


def header_offsets(path: pathlib.Path) -> dict:
    raw = path.read_bytes()
    n = int.from_bytes(raw[:8], "little")
    header = json.loads(raw[8 : 8 + n])
    return {k: v["data_offsets"] for k, v in header.items() if k != "__metadata__"}


DTYPE_NAMES = {
    np.dtype(np.bool_): "BOOL", np.dtype(np.uint8): "U8", np.dtype(np.int8): "I8",
    np.dtype(np.int16): "I16", np.dtype(np.uint16): "U16", np.dtype(np.int32): "I32",
    np.dtype(np.uint32): "U32", np.dtype(np.int64): "I64", np.dtype(np.uint64): "U64",
    np.dtype(np.float16): "F16", np.dtype(np.float32): "F32", np.dtype(np.float64): "F64",
}
TORCH_NAMES = {torch.bfloat16: "BF16", torch.float16: "F16", torch.float32: "F32",
               torch.int64: "I64", torch.int32: "I32", torch.uint8: "U8", torch.bool: "BOOL"}

files = []


def record(name, tensors, metadata, byte_identical, names_of, bytes_of):
    path = out / name
    offsets = header_offsets(path)
    files.append({
        "file": name,
        "metadata": metadata or {},
        "byte_identical": byte_identical,
        "tensors": sorted(
            ({"name": k, "dtype": names_of(v), "shape": list(v.shape),
              "data_offsets": offsets[k], "sha256": sha(bytes_of(v))} for k, v in tensors.items()),
            key=lambda t: t["name"]),
    })


# Every numpy dtype safetensors knows, with names that make the (dtype desc, name) order matter,
# a scalar, zero-size tensors and a non-ASCII name.
def ints(dt, shape):
    info = np.iinfo(dt)
    return rng.integers(info.min, info.max, size=shape, dtype=dt, endpoint=True)



mixed = {
    "encoder.weight": rng.standard_normal((2, 3)).astype(np.float32),
    "encoder.bias": rng.standard_normal((3,)).astype(np.float64),
    "half": rng.standard_normal((4,)).astype(np.float16),
    "ids": ints(np.int64, (2, 2)),
    "a_i32": ints(np.int32, (5,)),
    "z_i16": ints(np.int16, (3,)),
    "i8": ints(np.int8, (3,)),
    "bytes": ints(np.uint8, (6,)),
    "u16": ints(np.uint16, (2,)),
    "u32": ints(np.uint32, (2,)),
    "u64": ints(np.uint64, (2,)),
    "mask": rng.integers(0, 2, size=(5,)).astype(np.bool_),
    "scalar": np.array(3.25, dtype=np.float32),
    "empty": np.zeros((0, 3), dtype=np.float32),
    "empty_ids": np.zeros((0,), dtype=np.int64),
    "gewicht.ü": rng.standard_normal((1, 2)).astype(np.float32),
}
np_save_file(mixed, str(out / "mixed.safetensors"), metadata={"format": "np"})
record("mixed.safetensors", mixed, {"format": "np"}, True, lambda a: DTYPE_NAMES[a.dtype], np_bytes)

pt = {
    "w": torch.randn(3, 4, generator=torch.Generator().manual_seed(0)).to(torch.bfloat16),
    "b": torch.randn(4, generator=torch.Generator().manual_seed(1)),
    "h": torch.randn(2, 2, generator=torch.Generator().manual_seed(2)).to(torch.float16),
    "position_ids": torch.arange(5).unsqueeze(0),
}
torch_save_file(pt, str(out / "torch_bf16.safetensors"), metadata={"format": "pt"})
record("torch_bf16.safetensors", pt, {"format": "pt"}, True,
       lambda t: TORCH_NAMES[t.dtype], torch_bytes)

# Several metadata keys: Rust serialises them from a HashMap with a random seed, so only the
# structure (not the byte order of the header) can match.
multi = {"x": rng.standard_normal((2, 2)).astype(np.float32), "y": ints(np.int64, (3,))}
multi_meta = {"format": "np", "note": "tab\tquote\" newline\n é", "version": "1"}
np_save_file(multi, str(out / "multi_meta.safetensors"), metadata=multi_meta)
record("multi_meta.safetensors", multi, multi_meta, False, lambda a: DTYPE_NAMES[a.dtype], np_bytes)

np_save_file({}, str(out / "no_tensors.safetensors"))
record("no_tensors.safetensors", {}, None, True, None, None)

(out / "safetensors.json").write_text(json.dumps({"files": files}, indent=1, ensure_ascii=False))

# The real model, read with safe_open (independently of how it was written).
model_dir = os.environ.get("EMBEDTUNE_DEFAULT_MODEL", "")
model_path = pathlib.Path(model_dir) / "model.safetensors"
if not model_path.is_file():
    sys.exit(f"oracle_io: {model_path} not found; set EMBEDTUNE_DEFAULT_MODEL to the model folder")
offsets = header_offsets(model_path)
model_tensors = []
with safe_open(str(model_path), framework="pt") as f:
    metadata = f.metadata() or {}
    for name in sorted(f.keys()):
        t = f.get_tensor(name)
        model_tensors.append({"name": name, "dtype": TORCH_NAMES[t.dtype], "shape": list(t.shape),
                              "data_offsets": offsets[name], "sha256": sha(torch_bytes(t))})
(out / "model.json").write_text(json.dumps(
    {"file": str(model_path), "metadata": metadata, "tensors": model_tensors}, indent=1))

# .npy files. f32_rewrite_identical: C-order float32 saved by numpy.save, so write_npy_f32 of the
# same values must reproduce the file byte for byte.
arrays = []


def npy(name, a, error=None, version=None, rewrite=False):
    path = out / name
    if version is None:
        np.save(path, a)
    else:
        with open(path, "wb") as f:
            np.lib.format.write_array(f, a, version=version)
    arrays.append({"file": name, "descr": np.lib.format.dtype_to_descr(a.dtype),
                   "shape": list(a.shape),
                   "sha256": sha(np.ascontiguousarray(a).tobytes()), "error": error,
                   "f32_rewrite_identical": rewrite})


f32 = lambda *shape: rng.standard_normal(shape).astype(np.float32)
npy("f4_2d.npy", f32(3, 4), rewrite=True)
npy("f4_1d.npy", f32(7), rewrite=True)
npy("f4_scalar.npy", np.array(-1.5, dtype=np.float32), rewrite=True)
npy("f4_empty.npy", np.zeros((0, 384), dtype=np.float32), rewrite=True)
npy("f4_wide.npy", f32(2, 3, 1234), rewrite=True)
npy("f4_long_first_axis.npy", f32(10000, 1), rewrite=True)
npy("f2.npy", rng.standard_normal(5).astype(np.float16))
npy("f8.npy", rng.standard_normal((2, 2)))
npy("i8.npy", ints(np.int64, (4,)))
npy("i4.npy", ints(np.int32, (2, 3)))
npy("u1.npy", ints(np.uint8, (3,)))
npy("b1.npy", rng.integers(0, 2, size=(4,)).astype(np.bool_))
npy("v2.npy", f32(2, 3), version=(2, 0))
npy("fortran.npy", np.asfortranarray(f32(2, 3)), error="Fortran order")
npy("big_endian.npy", f32(3).astype(">f4"), error="big-endian")
npy("u2.npy", ints(np.uint16, (3,)), error="not supported")
(out / "npy.json").write_text(json.dumps({"arrays": arrays}, indent=1))
print(f"oracle_io: wrote {len(files)} safetensors files, {len(model_tensors)} model tensors, "
      f"{len(arrays)} npy files to {out}")
