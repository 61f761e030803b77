"""Attribution: personal share links, the clicks on them, the signed last-click cookie, and article views."""
