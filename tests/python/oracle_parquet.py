"""Oracle for src/data/parquet.cc: Parquet files written by pyarrow, and the rows pyarrow reads back.

Usage: python oracle_parquet.py OUTDIR   (run by make_testdata.py with OUTDIR=$EMBEDTUNE_TESTDATA/parquet)

Writes into OUTDIR:
  *.parquet     one table of every value type the reader maps (strings and large strings with
                nulls and non-ASCII text, signed and unsigned ints up to 2^64 - 1, float and double,
                bools, the null type, a dictionary column, lists, a fixed-size list, a struct), in
                several row groups with each compression; and an empty file
  parquet.json  {"files": [{"file", "rows": [...]}]}: pq.read_table(file).to_pylist() of each
"""
import json
import pathlib
import sys

import pyarrow as pa
import pyarrow.parquet as pq

out = pathlib.Path(sys.argv[1])
out.mkdir(parents=True, exist_ok=True)
N = 10


def column(values, type_):
    return pa.array(values, type=type_)


table = pa.table({
    "text": column([None if i == 4 else f"row {i}: caf\u00e9 \u6f22\u5b57 \U0001f600" for i in range(N)], pa.string()),
    "large": column([f"large {i}" * (i + 1) for i in range(N)], pa.large_string()),
    "i8": column([-128 + 25 * i for i in range(N)], pa.int8()),
    "i64": column([None if i == 2 else -(2**63) + i for i in range(N)], pa.int64()),
    "u32": column([2**32 - 1 - i for i in range(N)], pa.uint32()),
    "u64": column([2**64 - 1 - i for i in range(N)], pa.uint64()),
    "f32": column([0.1 * i for i in range(N)], pa.float32()),
    "f64": column([None if i == 7 else 1e300 / (i + 1) for i in range(N)], pa.float64()),
    "flag": column([None if i == 5 else i % 3 == 0 for i in range(N)], pa.bool_()),
    "nothing": pa.nulls(N),
    "category": pa.array(["red", "green", None, "red", "blue", "green", "red", "blue", "blue", "red"]).dictionary_encode(),
    "tags": column([None if i == 1 else [f"t{i}", None, ""][: i % 4] for i in range(N)], pa.list_(pa.string())),
    "numbers": column([list(range(i)) for i in range(N)], pa.large_list(pa.int64())),
    "pair": column([[i, -i] for i in range(N)], pa.list_(pa.int32(), 2)),
    "meta": column([None if i == 3 else {"k": i, "v": f"s{i}", "w": None} for i in range(N)],
                   pa.struct([("k", pa.int16()), ("v", pa.string()), ("w", pa.float64())])),
})

files = []
for name, options in [("zstd_groups3", dict(compression="zstd", row_group_size=3)),
                      ("snappy_plain_v2", dict(compression="snappy", use_dictionary=False, data_page_version="2.0")),
                      ("gzip_groups1", dict(compression="gzip", row_group_size=1)),
                      ("none_groups4", dict(compression="none", row_group_size=4))]:
    pq.write_table(table, out / f"{name}.parquet", **options)
    files.append(name)
pq.write_table(table.slice(0, 0), out / "empty.parquet")
files.append("empty")

manifest = {"files": [{"file": f"{name}.parquet", "rows": pq.read_table(out / f"{name}.parquet").to_pylist()}
                      for name in files]}
(out / "parquet.json").write_text(json.dumps(manifest, ensure_ascii=False, indent=1), encoding="utf-8")
