# The self-contained folder that the mae4j-native jar carries (`cmake --install <build> --prefix <folder>`):
# libmae with an $ORIGIN run path, every non-system library it loads (LibTorch's libtorch, libtorch_cpu, libc10,
# the OpenMP runtime, libjpeg), and bundle.index, which the Java loader reads: one "sha256 size name" line a file.
# LibTorch's libraries are stripped of their static symbol tables (-90 MB); their dynamic symbols stay.
# A CUDA LibTorch is not bundled (its libraries are gigabytes): point -Dmae.library.path at the build instead.
option(MAE_BUNDLE "Install libmae with its LibTorch as one folder" ON)
if(NOT MAE_BUNDLE OR TORCH_CUDA_LIBRARIES)
  return()
endif()

set(_stage "${CMAKE_CURRENT_BINARY_DIR}/bundle")
set(_staged)
foreach(_name libtorch.so libtorch_cpu.so libc10.so libgomp.so.1)
  set(_from "${MAE_TORCH_LIB_DIR}/${_name}")
  if(NOT EXISTS "${_from}")
    message(FATAL_ERROR "LibTorch has no ${_from}: the bundle would not be self-contained")
  endif()
  add_custom_command(OUTPUT "${_stage}/${_name}"
    COMMAND ${CMAKE_COMMAND} -E make_directory "${_stage}"
    COMMAND ${CMAKE_STRIP} --strip-unneeded -o "${_stage}/${_name}" "${_from}"
    DEPENDS "${_from}" VERBATIM)
  list(APPEND _staged "${_stage}/${_name}")
endforeach()
add_custom_target(mae_bundle_libs ALL DEPENDS ${_staged})
# A folder that held an earlier build's libraries is emptied first, so the index lists only this build's.
install(CODE [[
  file(GLOB _old "${CMAKE_INSTALL_PREFIX}/*.so" "${CMAKE_INSTALL_PREFIX}/*.so.*" "${CMAKE_INSTALL_PREFIX}/bundle.index")
  if(_old)
    file(REMOVE ${_old})
  endif()
]])
install(TARGETS mae LIBRARY DESTINATION .)
install(FILES ${_staged} DESTINATION .)
if(JPEG_FOUND)
  # Under its soname (libjpeg.so.62), the name libmae asks the loader for.
  list(GET JPEG_LIBRARIES 0 _jpeg)
  get_filename_component(_jpeg_real "${_jpeg}" REALPATH)
  get_filename_component(_jpeg_file "${_jpeg_real}" NAME)
  string(REGEX MATCH "^lib[^.]+\\.so\\.[0-9]+" _jpeg_soname "${_jpeg_file}")
  install(FILES "${_jpeg_real}" DESTINATION . RENAME "${_jpeg_soname}")
endif()
install(CODE [[
  set(_dir "${CMAKE_INSTALL_PREFIX}")
  file(GLOB _files RELATIVE "${_dir}" "${_dir}/*.so" "${_dir}/*.so.*")
  list(SORT _files)
  set(_index "")
  foreach(_f ${_files})
    file(SHA256 "${_dir}/${_f}" _sum)
    file(SIZE "${_dir}/${_f}" _size)
    string(APPEND _index "${_sum} ${_size} ${_f}\n")
  endforeach()
  file(WRITE "${_dir}/bundle.index" "${_index}")
  message(STATUS "bundle.index: ${_files}")
]])
