"""`convo chat`, the full-screen terminal chat (Textual). Imported only by that command:
Textual costs ~200 ms to import, which no other command pays."""
