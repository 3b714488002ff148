//! The CLI script: each artifact a command reads is written with a quoted here-document, each argument is
//! shell-quoted.

use super::model::{CommandLine, SetupDocument};

const HEREDOC: &str = "BYOB_ARTIFACT_EOF";

fn quote(arg: &str) -> String {
    shlex::try_quote(arg).map_or_else(|_| "''".to_string(), |q| q.into_owned())
}

pub(crate) fn render(doc: &SetupDocument) -> String {
    let mut out = format!(
        "#!/bin/sh\n# byob setup for integration {} ({}). Review before running; placeholders are in <angle brackets>.\nset -eu\n",
        doc.integration,
        doc.provider.as_str()
    );
    for note in &doc.notes {
        out.push_str(&format!("# note: {}\n", note.replace('\n', " ")));
    }
    let mut written: Vec<&str> = Vec::new();
    for CommandLine { program, args, reads } in &doc.commands {
        for name in reads {
            if written.contains(name) {
                continue;
            }
            if let Some(artifact) = doc.artifacts.iter().find(|a| a.name == *name) {
                let body = serde_json::to_string_pretty(&artifact.content).unwrap_or_default();
                out.push_str(&format!("\ncat > {name}.json <<'{HEREDOC}'\n{body}\n{HEREDOC}\n"));
                written.push(name);
            }
        }
        let line: Vec<String> = std::iter::once((*program).to_string()).chain(args.iter().map(|a| quote(a))).collect();
        out.push_str(&format!("{}\n", line.join(" ")));
    }
    out
}
