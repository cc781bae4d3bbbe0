//! `mp dev DIR`: the template's model server (`python3 server.py`) on a free port, in the
//! foreground. `mp` prints its URL once the server says it listens, then passes its output
//! through until it stops; stopping `mp` (Ctrl-C, SIGTERM) stops the server too, and `mp`
//! exits 130.

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use serde_json::json;

use crate::Context;
use crate::error::{Error, Result};

/// The first line a template's server writes.
const LISTENING: &str = "listening on ";

pub fn dev(context: &Context, dir: &Path, port: u16) -> Result<()> {
    let server = dir.join("server.py");
    if !server.is_file() {
        return Err(Error::local(format!("{} has no server.py", dir.display()))
            .with_hint("write a model server there first: mp init --template signal-http DIR"));
    }
    let mut command = Command::new("python3");
    command
        .arg("server.py")
        .args(["--host", "127.0.0.1", "--port", &port.to_string()])
        .current_dir(dir)
        .stdin(Stdio::null())
        .stdout(Stdio::piped());
    if dir.join("model.json").is_file() {
        command.args(["--model", "model.json"]);
    }
    let mut child = command.spawn().map_err(|e| {
        Error::local(format!("starting python3: {e}"))
            .with_hint("mp dev runs the template with python3: install Python 3")
    })?;
    let stdout = child
        .stdout
        .take()
        .ok_or_else(|| Error::local("the server's output is not readable"))?;
    let child = Arc::new(Mutex::new(child));
    // However `mp` leaves this function (an error, a panic), the server goes with it.
    let _stops_the_server = StopOnDrop(Arc::clone(&child));
    // The server is this command's: when `mp` is told to stop, the handler stops the server,
    // whose end ends the loop below, which then says why.
    let stopped = Arc::new(AtomicBool::new(false));
    {
        let (child, stopped) = (Arc::clone(&child), Arc::clone(&stopped));
        let installed = ctrlc::set_handler(move || {
            stopped.store(true, Ordering::SeqCst);
            if let Ok(mut child) = child.lock() {
                let _ = child.kill();
            }
        });
        if let Err(error) = installed {
            eprintln!("mp: cannot stop the server with mp on a signal: {error}");
        }
    }
    let mut lines = BufReader::new(stdout).lines();
    let first = lines.next().transpose()?.unwrap_or_default();
    let Some(url) = first.strip_prefix(LISTENING).map(str::to_owned) else {
        let status = child.lock().ok().and_then(|mut c| {
            let _ = c.kill();
            c.wait().ok()
        });
        return Err(Error::failed(format!(
            "the server did not start (it wrote {first:?}, then exited {})",
            status.map_or_else(|| "?".to_owned(), |s| s.to_string())
        )));
    };
    let pid = child.lock().map(|c| c.id()).unwrap_or_default();
    context.out.emit(
        &json!({"url": url, "pid": pid, "dir": dir.display().to_string()}),
        &format!(
            "{url}\n(the model server of {}, pid {pid}; Ctrl-C stops it)",
            dir.display()
        ),
    );
    for line in lines {
        let line = line?;
        context.out.line(&line);
    }
    // The lock is taken only for a moment at a time, so that the stop handler can take it.
    let status = loop {
        let exited = child
            .lock()
            .map_err(|_| Error::local("the server's handle broke"))?
            .try_wait()?;
        match exited {
            Some(status) => break status,
            None => std::thread::sleep(std::time::Duration::from_millis(50)),
        }
    };
    if stopped.load(Ordering::SeqCst) {
        Err(Error {
            kind: crate::error::Kind::Stopped,
            message: "stopped: the model server is stopped too".to_owned(),
            hint: None,
            printed: true,
        })
    } else if status.success() {
        Ok(())
    } else {
        Err(Error::failed(format!("the model server exited {status}")).printed())
    }
}

/// Kills and reaps the server when dropped.
struct StopOnDrop(Arc<Mutex<Child>>);

impl Drop for StopOnDrop {
    fn drop(&mut self) {
        if let Ok(mut child) = self.0.lock()
            && child.try_wait().ok().flatten().is_none()
        {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}
