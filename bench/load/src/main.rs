//! Writes the benchmark CSV: `byob-bench-load OUT BYTES`. Ten mixed columns (integers, text with quoted commas
//! and quotes, exact decimals, timestamps with zone, dates, booleans, NULLs as empty fields), deterministic, so
//! every tool in a run loads the same bytes. Prints the row count.

use std::io::{BufWriter, Write};

fn main() -> std::io::Result<()> {
    let mut args = std::env::args().skip(1);
    let (Some(out), Some(bytes)) = (args.next(), args.next()) else {
        eprintln!("usage: byob-bench-load OUT BYTES");
        std::process::exit(2);
    };
    let target: u64 = bytes.parse().unwrap_or(1_000_000_000);
    let mut w = BufWriter::with_capacity(1 << 20, std::fs::File::create(out)?);
    let header = "id,customer,email,amount,qty,price,created_at,day,active,note\n";
    w.write_all(header.as_bytes())?;
    let mut written = header.len() as u64;
    let mut line = String::with_capacity(256);
    let mut id: u64 = 0;
    while written < target {
        id += 1;
        line.clear();
        let customer = if id.is_multiple_of(4) {
            format!("\"Smith, Jane {}\"", id % 10_007)
        } else {
            format!("Customer {} Ltd", id % 50_021)
        };
        let note = match id % 5 {
            0 => String::new(),
            1 => format!("\"said \"\"hi\"\", then left, #{id}\""),
            _ => format!("note-{}-ok", id % 997),
        };
        let amount = if id.is_multiple_of(9) { String::new() } else { format!("{}.{:02}", id % 100_000, id % 100) };
        use std::fmt::Write as _;
        let _ = writeln!(
            line,
            "{id},{customer},user{}@mail.example.com,{amount},{},{}.{:04},2024-{:02}-{:02}T{:02}:{:02}:{:02}Z,2023-{:02}-{:02},{},{note}",
            id % 100_003,
            id % 1000,
            id % 500,
            id % 10_000,
            id % 12 + 1,
            id % 28 + 1,
            id % 24,
            id % 60,
            (id * 7) % 60,
            (id * 5) % 12 + 1,
            (id * 3) % 28 + 1,
            if id.is_multiple_of(2) { "true" } else { "false" },
        );
        w.write_all(line.as_bytes())?;
        written += line.len() as u64;
    }
    w.flush()?;
    println!("{id}");
    Ok(())
}
