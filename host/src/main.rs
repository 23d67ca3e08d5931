//! The `hostel` binary: parse, run, exit code. All logic lives in the library.

use anyhow::Result;
use clap::Parser;
use hostel::cli::{Cli, Command};
use std::process::ExitCode;

fn main() -> ExitCode {
    let cli = Cli::parse();
    match run(cli) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

fn run(cli: Cli) -> Result<ExitCode> {
    match cli.command {
        Command::Serve(args) => {
            init_logging(&args.log_format);
            let config = args.load_config()?;
            let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build()?;
            runtime.block_on(async {
                let mut server = hostel::server::Server::bind(&config).await?;
                server.reload_from(args.config.clone());
                // Tests and scripts read the first line to find a port-0
                // listener. One write, errors ignored: a reader that stops
                // after the first line must not kill the server.
                let mut banner = format!("hostel listening on http://{}\n", server.local_addr()?);
                if let Some(admin) = server.admin_addr() {
                    banner.push_str(&format!("hostel admin listening on http://{admin}\n"));
                }
                {
                    use std::io::Write;
                    let mut out = std::io::stdout().lock();
                    let _ = out.write_all(banner.as_bytes()).and_then(|()| out.flush());
                }
                server.run(shutdown_signal()).await
            })?;
            Ok(ExitCode::SUCCESS)
        }
        Command::Compile(args) => {
            init_logging("text");
            hostel::cli::compile(&args).map(|()| ExitCode::SUCCESS)
        }
        Command::Tenants(args) => hostel::admin::client::run(&args).map(|()| ExitCode::SUCCESS),
        Command::Storyboard(args) => {
            let hostel::storyboard::cli::StoryboardCommand::Run(args) = &args.command;
            init_logging_default("warn");
            // 0/1 for runs that happened; 2 when the input is unusable.
            Ok(match hostel::storyboard::cli::run(args) {
                Ok(code) => ExitCode::from(code),
                Err(e) => {
                    eprintln!("error: {e:#}");
                    ExitCode::from(hostel::storyboard::cli::EXIT_UNUSABLE)
                }
            })
        }
    }
}

fn init_logging(format: &str) {
    init_logging_with(format, "info");
}

/// Logging for commands whose own output is the point: only warnings
/// unless `RUST_LOG` says otherwise.
fn init_logging_default(level: &str) {
    init_logging_with("text", level);
}

fn init_logging_with(format: &str, default: &str) {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| default.into());
    use std::io::IsTerminal;
    let builder = tracing_subscriber::fmt().with_env_filter(filter).with_writer(std::io::stderr).with_ansi(std::io::stderr().is_terminal());
    if format == "json" {
        builder.json().init();
    } else {
        builder.init();
    }
}

/// Ctrl-C or SIGTERM.
async fn shutdown_signal() {
    let ctrl_c = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()).expect("SIGTERM handler");
        tokio::select! {
            _ = ctrl_c => {}
            _ = term.recv() => {}
        }
    }
    #[cfg(not(unix))]
    let _ = ctrl_c.await;
}
