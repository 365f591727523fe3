//! Plain aligned text tables for terminal output.

/// Left-aligned columns separated by two spaces; the last column is not padded, so a long
/// value there (settings JSON) does not widen every line.
pub fn render(header: &[&str], rows: &[Vec<String>]) -> String {
    let columns = header.len();
    let mut widths: Vec<usize> = header.iter().map(|h| h.chars().count()).collect();
    for row in rows {
        for (width, cell) in widths.iter_mut().zip(row) {
            *width = (*width).max(cell.chars().count());
        }
    }
    let mut out = String::new();
    let header: Vec<String> = header.iter().map(|h| h.to_string()).collect();
    for row in std::iter::once(&header).chain(rows) {
        let mut line = String::new();
        for (index, cell) in row.iter().enumerate().take(columns) {
            if index + 1 == columns {
                line.push_str(cell);
            } else {
                let pad = widths[index] - cell.chars().count();
                line.push_str(cell);
                line.push_str(&" ".repeat(pad + 2));
            }
        }
        out.push_str(line.trim_end());
        out.push('\n');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::render;

    #[test]
    fn columns_line_up_and_the_last_is_not_padded() {
        let rows = vec![
            vec!["GET".into(), "/health".into(), "{}".into()],
            vec!["POST".into(), "/api/v1/users".into(), "{\"a\":1}".into()],
        ];
        let text = render(&["METHOD", "PATH", "SETTINGS"], &rows);
        assert_eq!(
            text,
            "METHOD  PATH           SETTINGS\n\
             GET     /health        {}\n\
             POST    /api/v1/users  {\"a\":1}\n"
        );
    }
}
