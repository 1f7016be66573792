# deploy.kubernetes.*: deploy/kubernetes proven without a cluster (tests/deploy/kubernetes_test.py,
# one ctest per test class; training and training_local are the distributed-training overlay's).
# They need kubectl 1.24+ (kustomize), node with tests/deploy's npm packages (scripts/install-deps:
# npm ci) and python3-yaml. Without kubectl 1.24+ (Debian 12 has none: its kubernetes-client is
# 1.20) they are skipped, saying so; a missing npm or Python package fails the test naming it.
find_program(TRISTAGE_DEPLOY_PYTHON3 python3 PATHS /usr/bin NO_DEFAULT_PATH)
find_program(TRISTAGE_DEPLOY_PYTHON3 python3)
set(DEPLOY_TEST ${CMAKE_CURRENT_LIST_DIR}/kubernetes_test.py)
set(DEPLOY_ENVIRONMENT
    "TRISTAGE_SERVER_BINARY=$<TARGET_FILE:tristage-server>;TRISTAGE_CLI_BINARY=$<TARGET_FILE:tristage>")
# ctest name -> test classes
set(DEPLOY_TESTS
    "render:RenderTest"
    "schema:SchemaTest"
    "references:ReferenceTest"
    "check_config:DaemonConfigTest"
    "single_local:SingleLocalTest,SingleDrainTest"
    "front_repository:FrontRepositoryTest"
    "staged_local:StagedLocalTest"
    "training:TrainingTest"
    "training_local:TrainingLocalTest")
foreach(entry ${DEPLOY_TESTS})
  string(REPLACE ":" ";" parts ${entry})
  list(GET parts 0 name)
  list(GET parts 1 classes)
  string(REPLACE "," ";" classes ${classes})
  add_test(NAME deploy.kubernetes.${name}
    COMMAND ${TRISTAGE_DEPLOY_PYTHON3} ${DEPLOY_TEST} ${classes}
    WORKING_DIRECTORY ${PROJECT_SOURCE_DIR})
  set_tests_properties(deploy.kubernetes.${name} PROPERTIES
    TIMEOUT 180 LABELS deploy ENVIRONMENT "${DEPLOY_ENVIRONMENT}" SKIP_RETURN_CODE 77)
endforeach()
