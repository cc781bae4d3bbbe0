//! The shell blocks of the guides, read the way their tests run them: shared by this crate's
//! documentation tests and `mp`'s (which includes this file by path).

/// A fenced `sh` block, and the reason code its answer must carry when the line before it says
/// `<!-- expect: CODE -->` (a documented failure).
#[derive(Debug)]
pub struct ShBlock {
    pub text: String,
    pub expect: Option<String>,
}

/// The fenced `sh` blocks of a markdown text, in order.
pub fn sh_blocks(markdown: &str) -> Vec<ShBlock> {
    let mut blocks = Vec::new();
    let mut current: Option<String> = None;
    let mut expect = None;
    for line in markdown.lines() {
        match (&mut current, line.trim_end()) {
            (None, "```sh") => current = Some(String::new()),
            (Some(block), "```") => {
                blocks.push(ShBlock {
                    text: block.trim_end().to_owned(),
                    expect: expect.take(),
                });
                current = None;
            }
            (Some(block), text) => {
                block.push_str(text);
                block.push('\n');
            }
            (None, text) => {
                if let Some(code) = text
                    .strip_prefix("<!-- expect: ")
                    .and_then(|rest| rest.strip_suffix(" -->"))
                {
                    expect = Some(code.to_owned());
                } else if !text.is_empty() {
                    expect = None;
                }
            }
        }
    }
    blocks
}

/// The part of `markdown` between `<!-- {name}:start -->` and `<!-- {name}:end -->`.
pub fn section<'a>(markdown: &'a str, name: &str) -> &'a str {
    let start = markdown
        .find(&format!("<!-- {name}:start -->"))
        .expect("start marker");
    let end = markdown
        .find(&format!("<!-- {name}:end -->"))
        .expect("end marker");
    &markdown[start..end]
}

/// A documented block as its test runs it: bash with `-euo pipefail` in `dir`, the guides'
/// `localhost:3005` pointing at `port`. The caller adds what the block needs of the
/// environment, then runs it.
pub fn bash(block: &str, port: u16, dir: &std::path::Path) -> std::process::Command {
    let script = block.replace("localhost:3005", &format!("127.0.0.1:{port}"));
    let mut command = std::process::Command::new("bash");
    command
        .args(["-euo", "pipefail", "-c", &script])
        .current_dir(dir);
    command
}
