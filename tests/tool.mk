# tests/tool.mk - the admin tool's messages, options, --json output, bash
# completion and the man pages (checked against the program).
TOOL_TESTS = \
	tests/integration/tool-tls.sh \
	tests/integration/tool-messages.sh \
	tests/integration/tool-explain-qc.sh \
	tests/integration/doc-man.sh \
	tests/integration/tool-completion.sh
TESTS += $(TOOL_TESTS)
EXTRA_DIST += $(TOOL_TESTS)
