"""The QEMU compute driver (``localcvm serve --driver qemu``): see ``driver.QemuDriver``."""
