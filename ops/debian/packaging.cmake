# The Debian package (ops/package builds it with CPack): the `recur` binary,
# /etc/recur (config, rules: conffiles), a systemd unit running `recur run` as
# user recur with its state under /var/lib/recur, and the docs with the
# `--help` texts. Maintainer scripts: ops/debian/{postinst,prerm,postrm}.
set(RECUR_DEBIAN ${PROJECT_SOURCE_DIR}/ops/debian)
install(TARGETS recur RUNTIME DESTINATION bin)
install(FILES ${RECUR_DEBIAN}/recur.conf DESTINATION /etc/recur)
install(FILES ${PROJECT_SOURCE_DIR}/scorer/default_rules.txt DESTINATION /etc/recur RENAME rules.txt)
install(FILES ${RECUR_DEBIAN}/recur.service DESTINATION /lib/systemd/system)
# The --help of every command, generated from the binary being packaged.
add_custom_command(
  OUTPUT ${PROJECT_BINARY_DIR}/recur-help.txt
  COMMAND bash -c "for c in '' simulate produce run import inspect snapshot replay train demo rules verify; do echo \"=== recur $c --help\"; (exec -a recur $<TARGET_FILE:recur> $c --help); echo; done" > ${PROJECT_BINARY_DIR}/recur-help.txt
  DEPENDS recur
  VERBATIM)
add_custom_target(recur_help ALL DEPENDS ${PROJECT_BINARY_DIR}/recur-help.txt)
install(FILES ${PROJECT_SOURCE_DIR}/README.md ${PROJECT_BINARY_DIR}/recur-help.txt
  ${PROJECT_SOURCE_DIR}/docs/DESIGN.md DESTINATION share/doc/recur)

set(CPACK_GENERATOR DEB)
set(CPACK_PACKAGE_NAME recur)
set(CPACK_PACKAGE_VERSION ${PROJECT_VERSION})
set(CPACK_PACKAGE_CONTACT "recur developers <recur@localhost>")
set(CPACK_PACKAGE_DESCRIPTION_SUMMARY
  "live churn-risk and repurchase scores for every customer of every shop, from Kafka")
set(CPACK_PACKAGING_INSTALL_PREFIX /usr)
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)
set(CPACK_DEBIAN_PACKAGE_SECTION misc)
set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS ON)  # the Debian libraries the binary links, as Depends
set(CPACK_DEBIAN_PACKAGE_DEPENDS "passwd")  # useradd/userdel in the maintainer scripts
set(CPACK_DEBIAN_PACKAGE_CONTROL_EXTRA
  ${RECUR_DEBIAN}/postinst ${RECUR_DEBIAN}/prerm ${RECUR_DEBIAN}/postrm ${RECUR_DEBIAN}/conffiles)
set(CPACK_DEBIAN_PACKAGE_CONTROL_STRICT_PERMISSION TRUE)
set(CPACK_OUTPUT_FILE_PREFIX ${PROJECT_BINARY_DIR}/package)
include(CPack)
