//! Command implementations: one plain function per CLI command.
