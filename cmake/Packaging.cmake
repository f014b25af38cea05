# Install layout and the .deb (CPack): `cpack -G DEB` in the release tree, or
# `cmake --build --preset release --target package`.
install(TARGETS ringwatch RUNTIME DESTINATION bin)
install(FILES "${CMAKE_SOURCE_DIR}/deploy/systemd/ringwatch.service" DESTINATION lib/systemd/system)
install(FILES "${CMAKE_SOURCE_DIR}/config/ringwatch.yaml" DESTINATION /etc/ringwatch
        PERMISSIONS OWNER_READ OWNER_WRITE GROUP_READ)
install(FILES "${CMAKE_SOURCE_DIR}/deploy/default/ringwatch" DESTINATION /etc/default
        PERMISSIONS OWNER_READ OWNER_WRITE GROUP_READ WORLD_READ)
install(FILES "${CMAKE_SOURCE_DIR}/deploy/prometheus/ringwatch-alerts.yml"
              "${CMAKE_SOURCE_DIR}/deploy/prometheus/prometheus.yml"
              "${CMAKE_SOURCE_DIR}/deploy/prometheus/prometheus-https.yml"
        DESTINATION share/ringwatch/prometheus)
install(DIRECTORY "${CMAKE_SOURCE_DIR}/dashboards/" DESTINATION share/ringwatch/dashboards
        FILES_MATCHING PATTERN "*.json")
install(FILES "${CMAKE_SOURCE_DIR}/dashboards/provisioning.yml" DESTINATION share/ringwatch/grafana)
install(FILES "${CMAKE_SOURCE_DIR}/README.md" DESTINATION share/doc/ringwatch)
install(DIRECTORY "${CMAKE_SOURCE_DIR}/docs/" DESTINATION share/doc/ringwatch/docs)

set(CPACK_GENERATOR DEB)
set(CPACK_PACKAGE_NAME ringwatch)
set(CPACK_PACKAGE_VERSION "${PROJECT_VERSION}")
set(CPACK_PACKAGE_CONTACT "ringwatch developers <ringwatch@localhost>")
set(CPACK_PACKAGE_DESCRIPTION_SUMMARY "cluster monitoring and failure-diagnosis agent")
set(CPACK_PACKAGING_INSTALL_PREFIX /usr)
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)
set(CPACK_DEBIAN_PACKAGE_SECTION admin)
set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS ON)  # Depends: from the libraries the binary links
set(CPACK_DEBIAN_PACKAGE_DEPENDS "adduser")
set(CPACK_DEBIAN_PACKAGE_CONTROL_EXTRA
    "${CMAKE_SOURCE_DIR}/deploy/debian/conffiles;${CMAKE_SOURCE_DIR}/deploy/debian/postinst;${CMAKE_SOURCE_DIR}/deploy/debian/prerm;${CMAKE_SOURCE_DIR}/deploy/debian/postrm")
set(CPACK_DEBIAN_PACKAGE_CONTROL_STRICT_PERMISSION ON)
include(CPack)
