# The hash-chained audit journal (storage/journal/).
conntrail_add_test(journal_test
  SOURCES ${CMAKE_CURRENT_LIST_DIR}/journal_test.cc
  LIBS conntrail_storage OpenSSL::Crypto
  LABELS unit)
