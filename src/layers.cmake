# src/layers.cmake - the layers of libfsp and what each may include.
#
#   layer      folder         may include the headers of
#   channel    src/channel    channel, protocol (the ABI)
#   protocol   src/protocol   protocol
#   volume     src/volume     volume, protocol, api
#   dispatch   src/dispatch   dispatch, volume, protocol, channel, api
#   api        src/api        every layer
#
# The volume computes replies and never sends them: it has no include path
# to the channel or the dispatcher, so the build refuses a volume file that
# reaches for them. api/fs_internal.h, the volume object every layer
# shares, names the lower layers' types only by pointer for that reason.

set(FSP_SRC ${CMAKE_SOURCE_DIR}/src)
set(FSP_LAYER_DIRS ${FSP_SRC}/api ${FSP_SRC}/volume ${FSP_SRC}/dispatch
    ${FSP_SRC}/protocol ${FSP_SRC}/channel)
set(FSP_LAYER_OBJECTS "")

function(fsp_layer name)
  file(GLOB sources CONFIGURE_DEPENDS ${FSP_SRC}/${name}/*.c)
  add_library(fsp_${name} OBJECT ${sources})
  set_target_properties(fsp_${name} PROPERTIES POSITION_INDEPENDENT_CODE ON)
  set(dirs "")
  foreach(layer ${ARGN})
    list(APPEND dirs ${FSP_SRC}/${layer})
  endforeach()
  # include/ for fsp/fsp.h; no src/ itself, so nothing is reached by path.
  target_include_directories(fsp_${name} PRIVATE ${CMAKE_SOURCE_DIR}/include
                             ${dirs})
  target_compile_options(fsp_${name} PRIVATE -fvisibility=hidden)
  target_compile_definitions(fsp_${name} PRIVATE FSP_BUILDING_LIBRARY)
  target_link_libraries(fsp_${name} PRIVATE PkgConfig::LIBURING)
  set(FSP_LAYER_OBJECTS ${FSP_LAYER_OBJECTS} $<TARGET_OBJECTS:fsp_${name}>
      PARENT_SCOPE)
endfunction()

fsp_layer(channel channel protocol)
fsp_layer(protocol protocol)
fsp_layer(volume volume protocol api)
fsp_layer(dispatch dispatch volume protocol channel api)
fsp_layer(api api volume dispatch protocol channel)
