/// The one stylesheet, served at `/static/style.css` (pages allow no inline style).
enum Stylesheet {
    static let css = """
    :root { --fg: #1d232b; --muted: #5d6b7a; --line: #d9dee4; --accent: #1f6feb; --bad: #c0392b; --good: #1a7f37; --bg: #fff; --soft: #f5f7f9; }
    * { box-sizing: border-box; }
    body { margin: 0; font: 15px/1.45 system-ui, -apple-system, "Segoe UI", sans-serif; color: var(--fg); background: var(--bg); }
    header { background: #0d1117; }
    nav { display: flex; gap: 18px; align-items: center; max-width: 1200px; margin: 0 auto; padding: 10px 20px; }
    nav a { color: #e6edf3; text-decoration: none; }
    nav a.brand { font-weight: 700; letter-spacing: .5px; }
    nav form.search { margin-left: auto; display: flex; gap: 6px; }
    main { max-width: 1200px; margin: 0 auto; padding: 16px 20px 40px; }
    h1 { font-size: 22px; margin: 10px 0 14px; } h2 { font-size: 17px; margin: 26px 0 10px; }
    table { border-collapse: collapse; width: 100%; }
    th, td { text-align: left; padding: 6px 8px; border-bottom: 1px solid var(--line); vertical-align: top; }
    th { color: var(--muted); font-weight: 600; font-size: 13px; }
    table.fields th { width: 130px; }
    a { color: var(--accent); }
    a.hash, code, pre, .mono { font-family: ui-monospace, SFMono-Regular, Menlo, Consolas, monospace; font-size: 13px; }
    a.tag { display: inline-block; background: var(--soft); border: 1px solid var(--line); border-radius: 10px; padding: 0 8px; margin: 1px 2px; font-size: 12px; color: var(--fg); text-decoration: none; }
    .failed { color: var(--bad); font-weight: 600; } .completed { color: var(--good); }
    .muted { color: var(--muted); }
    pre { background: var(--soft); border: 1px solid var(--line); padding: 10px 12px; overflow-x: auto; white-space: pre; }
    pre.diff span { display: block; min-height: 1.2em; }
    pre.diff .add { color: var(--good); background: #e6ffec; } pre.diff .del { color: var(--bad); background: #ffebe9; } pre.diff .hunk { color: var(--muted); }
    form.filters { display: flex; flex-wrap: wrap; gap: 8px; align-items: end; margin-bottom: 14px; }
    form.filters label { display: flex; flex-direction: column; font-size: 12px; color: var(--muted); }
    input { font: inherit; padding: 4px 6px; border: 1px solid var(--line); border-radius: 4px; }
    button { font: inherit; padding: 4px 12px; border: 1px solid var(--accent); background: var(--accent); color: #fff; border-radius: 4px; cursor: pointer; }
    .pager { margin-top: 14px; }
    .error { border: 1px solid var(--bad); background: #fff5f5; padding: 10px 14px; border-radius: 6px; }
    .cards { display: flex; flex-wrap: wrap; gap: 12px; }
    .card { border: 1px solid var(--line); border-radius: 6px; padding: 10px 14px; min-width: 150px; }
    .card .value { font-size: 20px; font-weight: 600; } .card .label { color: var(--muted); font-size: 12px; }
    svg { max-width: 100%; height: auto; font-family: system-ui, sans-serif; }
    svg .axis { stroke: #8b949e; stroke-width: 1; } svg .grid { stroke: #eaeef2; stroke-width: 1; }
    svg text { fill: #57606a; font-size: 11px; } svg .node text { fill: var(--fg); font-size: 12px; }
    svg .node rect { fill: #f6f8fa; stroke: #8b949e; } svg .node.current rect { fill: #ddf4ff; stroke: var(--accent); stroke-width: 2; }
    svg .node.input rect { fill: #fff8c5; stroke: #bf8700; } svg .edge { stroke: #8b949e; stroke-width: 1.5; fill: none; }
    """
}
