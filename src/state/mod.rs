//! State: the only module that writes state files.
