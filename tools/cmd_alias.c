#include "cmds.h"
int cmd_alias(int argc, char **argv) { (void)argc; (void)argv; return cmd_usage("not yet"); }
