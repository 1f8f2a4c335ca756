# Imported targets for the Debian libraries that ship no CMake package of
# their own, shared by this build and by the installed package's config file
# (gpt2_oracleConfig.cmake), so that a project that links gpt2_oracle finds
# them as this build did. Found by hand: pkg-config is not on every machine.

# PCRE2 (libpcre2-dev) runs GPT-2's pre-tokenization pattern, which needs
# Unicode properties (model/pretokenizer.h).
if(NOT TARGET PCRE2::pcre2_8)
  find_path(PCRE2_INCLUDE_DIR pcre2.h REQUIRED)
  find_library(PCRE2_LIBRARY pcre2-8 REQUIRED)
  add_library(PCRE2::pcre2_8 UNKNOWN IMPORTED)
  set_target_properties(PCRE2::pcre2_8 PROPERTIES IMPORTED_LOCATION ${PCRE2_LIBRARY}
                                                  INTERFACE_INCLUDE_DIRECTORIES ${PCRE2_INCLUDE_DIR})
endif()

# MPFR (libmpfr-dev) and GMP (libgmp-dev) back the reference's 50- and
# 100-digit scalars (reference/real.h).
if(NOT TARGET MPFR::mpfr)
  find_path(MPFR_INCLUDE_DIR mpfr.h REQUIRED)
  find_library(MPFR_LIBRARY mpfr REQUIRED)
  find_library(GMP_LIBRARY gmp REQUIRED)
  add_library(GMP::gmp UNKNOWN IMPORTED)
  set_target_properties(GMP::gmp PROPERTIES IMPORTED_LOCATION ${GMP_LIBRARY})
  add_library(MPFR::mpfr UNKNOWN IMPORTED)
  set_target_properties(MPFR::mpfr PROPERTIES IMPORTED_LOCATION ${MPFR_LIBRARY}
                                              INTERFACE_INCLUDE_DIRECTORIES ${MPFR_INCLUDE_DIR}
                                              INTERFACE_LINK_LIBRARIES GMP::gmp)
endif()
