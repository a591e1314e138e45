// Empty: this target exists to build the shared precompiled header.
