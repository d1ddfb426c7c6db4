vcl 4.1;

# "Make everything cacheable": cookies are dropped from every request except the login pages, so the
# origin sees a stranger on every page the session should open.

backend app {
    .host = "127.0.0.1";
    .port = "${APP_PORT}";
}

sub vcl_recv {
    if (req.url !~ "^/accounts/") {
        unset req.http.Cookie;
    }
}
