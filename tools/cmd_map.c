#include "cmds.h"
int cmd_map(int argc, char **argv) { (void)argc; (void)argv; return cmd_usage("not yet"); }
