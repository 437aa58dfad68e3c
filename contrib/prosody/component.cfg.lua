-- Add to prosody.cfg.lua (or conf.d/) to attach mucdesk as the component
-- for support.example.org.  The secret must match [component] secret in
-- mucdesk.conf.
component_ports = { 5347 }
component_interface = "127.0.0.1"

Component "support.example.org"
    component_secret = "change this secret"
