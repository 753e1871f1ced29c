//! `GET /kiosk/style.css`: large touch targets, high contrast.
use axum::http::header;
use axum::response::IntoResponse;

const CSS: &str = "
*{box-sizing:border-box}
body{font-family:system-ui,sans-serif;font-size:22px;margin:0;padding:24px;background:#fff;color:#111;max-width:960px}
h1{font-size:34px;margin:0 0 16px}
h2{font-size:28px;margin:28px 0 12px}
label{display:block;margin:16px 0 6px;font-weight:600}
input{font-size:28px;padding:14px;width:100%;max-width:420px;border:2px solid #333;border-radius:8px}
button,.button{display:inline-block;font-size:24px;min-height:64px;min-width:160px;padding:14px 24px;margin:12px 12px 0 0;border:2px solid #0b3d91;border-radius:10px;background:#0b3d91;color:#fff;text-decoration:none;cursor:pointer}
.secondary{background:#fff;color:#0b3d91}
.message{padding:16px;border-radius:8px;background:#fdecea;border:2px solid #b00020;margin:12px 0}
.ok{background:#e6f4ea;border-color:#137333}
table{border-collapse:collapse;width:100%}
td,th{padding:12px 8px;border-bottom:1px solid #ccc;text-align:left}
.amount{text-align:right;white-space:nowrap}
nav form,.inline{display:inline}
";

pub async fn css() -> impl IntoResponse {
    ([(header::CONTENT_TYPE, "text/css; charset=utf-8")], CSS)
}
