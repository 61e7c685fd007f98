# Warnings and sanitizers applied to every atb target through atb_options.
add_library(atb_options INTERFACE)
target_compile_features(atb_options INTERFACE cxx_std_20)
target_compile_options(atb_options INTERFACE
  -Wall -Wextra -Wpedantic -Wshadow -Wconversion -Wno-sign-conversion
  $<$<CXX_COMPILER_ID:GNU>:-Wno-maybe-uninitialized>
  $<$<CXX_COMPILER_ID:GNU>:-fcoroutines>)
# Asio/Beast are compiled once in atb_asio (src/fetch/asio_impl.cpp); every user of them
# must agree on these definitions.
target_compile_definitions(atb_options INTERFACE
  BOOST_ASIO_SEPARATE_COMPILATION BOOST_BEAST_SEPARATE_COMPILATION
  BOOST_ASIO_NO_DEPRECATED)

if(ATB_SANITIZE)
  if(CMAKE_CXX_COMPILER_ID STREQUAL "Clang")
    # clang 14's UBSan 'function' check cannot compile C++20 coroutines.
    set(_atb_san -fsanitize=address,undefined -fno-sanitize=function -fno-sanitize-recover=undefined -fno-omit-frame-pointer)
  else()
    set(_atb_san -fsanitize=address,undefined -fno-sanitize-recover=undefined -fno-omit-frame-pointer)
  endif()
  add_compile_options(${_atb_san})
  add_link_options(${_atb_san})
endif()
