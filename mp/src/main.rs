//! `mp`: the vendors' CLI. Everything is in the library; this only runs it.

fn main() -> std::process::ExitCode {
    mp::main()
}
