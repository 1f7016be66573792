# tristage_set_warnings(<target>): the warning set every first-party target compiles with.
function(tristage_set_warnings target)
  target_compile_options(${target} PRIVATE -Wall -Wextra -Wpedantic -Wshadow=local
                                           -Wno-unused-parameter)
endfunction()
