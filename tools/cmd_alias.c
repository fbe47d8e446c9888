/*
 * cmd_alias.c - "postern alias", like postalias(1) and, with no table
 * arguments, newaliases: builds every table named by alias_database.
 * Runs as the invoking user; the work (and the untrusted-input
 * handling of aliases(5) files) is shared with postern map in
 * cmd_map.c.
 */
#include "cmd_map.h"
#include "cmds.h"

int cmd_alias(int argc, char **argv)
{
	return maptool_main(argc, argv, true);
}
