//! The bench commands.
