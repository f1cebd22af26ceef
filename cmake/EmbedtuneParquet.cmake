# Arrow's C++ Parquet reader for src/data/parquet.cc, taken from the pyarrow wheel in the project's
# virtual environment (headers in pyarrow/include, libarrow.so.NNNN and libparquet.so.NNNN beside
# them), so nothing else needs installing. Only the data layer sees Arrow's headers; the binaries
# find the libraries through their RPATH. Without it (-DEMBEDTUNE_PARQUET=OFF) .parquet inputs
# give an error that says so.
option(EMBEDTUNE_PARQUET "Read .parquet datasets with Arrow's C++ library from the venv's pyarrow" ON)

function(embedtune_link_parquet target)
  if(NOT EMBEDTUNE_PARQUET)
    message(STATUS "Parquet: off (EMBEDTUNE_PARQUET=OFF); reading .parquet files gives an error")
    return()
  endif()
  if(EMBEDTUNE_PYTHON)
    set(python "${EMBEDTUNE_PYTHON}")
  else()
    set(python "${PROJECT_SOURCE_DIR}/.venv/bin/python")
  endif()
  execute_process(
    COMMAND "${python}" -c "import pyarrow; print(pyarrow.get_include()); print(pyarrow.get_library_dirs()[0])"
    OUTPUT_VARIABLE out RESULT_VARIABLE rc ERROR_VARIABLE err OUTPUT_STRIP_TRAILING_WHITESPACE)
  if(NOT rc EQUAL 0)
    message(FATAL_ERROR "Parquet: ${python} cannot import pyarrow (${err}); run scripts/setup.sh, "
                        "pass -DEMBEDTUNE_PYTHON=<a python with pyarrow>, or -DEMBEDTUNE_PARQUET=OFF")
  endif()
  string(REPLACE "\n" ";" out "${out}")
  list(GET out 0 include_dir)
  list(GET out 1 lib_dir)
  # The wheel ships only the versioned names (libparquet.so.2600); link those files by full path
  # rather than making unversioned links inside the venv.
  file(GLOB parquet_libs "${lib_dir}/libparquet.so.*")
  file(GLOB arrow_libs "${lib_dir}/libarrow.so.*")
  list(FILTER parquet_libs INCLUDE REGEX "/libparquet\\.so\\.[0-9]+$")
  list(FILTER arrow_libs INCLUDE REGEX "/libarrow\\.so\\.[0-9]+$")
  if(NOT parquet_libs OR NOT arrow_libs OR NOT EXISTS "${include_dir}/parquet/arrow/reader.h")
    message(FATAL_ERROR "Parquet: no libparquet.so.N, libarrow.so.N or parquet/arrow/reader.h in "
                        "${lib_dir}; reinstall pyarrow (scripts/setup.sh) or pass -DEMBEDTUNE_PARQUET=OFF")
  endif()
  list(GET parquet_libs 0 parquet_lib)
  list(GET arrow_libs 0 arrow_lib)
  message(STATUS "Parquet: ${parquet_lib}")
  add_library(embedtune_pyarrow_arrow SHARED IMPORTED)
  set_target_properties(embedtune_pyarrow_arrow PROPERTIES IMPORTED_LOCATION "${arrow_lib}")
  add_library(embedtune_pyarrow_parquet SHARED IMPORTED)
  set_target_properties(embedtune_pyarrow_parquet PROPERTIES IMPORTED_LOCATION "${parquet_lib}"
                        INTERFACE_LINK_LIBRARIES embedtune_pyarrow_arrow)
  # Imported shared libraries put their folder in the build RPATH of every executable linking
  # them, so build/embedtune and the tests run without LD_LIBRARY_PATH.
  target_include_directories(${target} SYSTEM PRIVATE "${include_dir}")
  target_compile_definitions(${target} PRIVATE EMBEDTUNE_WITH_PARQUET)
  target_link_libraries(${target} PRIVATE embedtune_pyarrow_parquet)
endfunction()
