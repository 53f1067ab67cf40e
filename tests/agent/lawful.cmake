# The lawful query service: officers, workflow, API handler (called directly, no server).
conntrail_add_test(officers_test
  SOURCES ${CMAKE_CURRENT_LIST_DIR}/officers_directory_test.cc
  LIBS conntrail_agent_lib
  LABELS unit)
conntrail_add_test(workflow_test
  SOURCES ${CMAKE_CURRENT_LIST_DIR}/workflow_request_test.cc
          ${CMAKE_CURRENT_LIST_DIR}/workflow_categories_test.cc
  LIBS conntrail_agent_lib
  LABELS unit)
conntrail_add_test(api_test
  SOURCES ${CMAKE_CURRENT_LIST_DIR}/api_test_support.cc
          ${CMAKE_CURRENT_LIST_DIR}/api_workflow_test.cc
          ${CMAKE_CURRENT_LIST_DIR}/api_authorization_test.cc
          ${CMAKE_CURRENT_LIST_DIR}/api_audit_test.cc
          ${CMAKE_CURRENT_LIST_DIR}/api_results_test.cc
          ${CMAKE_CURRENT_LIST_DIR}/api_sessions_test.cc
  LIBS conntrail_agent_lib
  LABELS unit)
# Runs the real `conntrail audit verify` binary.
conntrail_add_test(api_audit_cli_test
  SOURCES ${CMAKE_CURRENT_LIST_DIR}/api_audit_cli_test.cc
  LIBS conntrail_storage
  LABELS integration)
add_dependencies(api_audit_cli_test conntrail)
