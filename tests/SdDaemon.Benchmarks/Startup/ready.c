/* The floor of the start-up benchmark (measure_startup.py): READY=1 through libsystemd's own
   sd_notify(3), from a C program; with --hold it then sleeps until killed, so that its peak RSS
   can be read. Build: gcc -O2 -o ready ready.c -lsystemd */
#include <unistd.h>
#include <systemd/sd-daemon.h>

int main(int argc, char **argv)
{
    (void)argv;
    if (sd_notify(0, "READY=1") <= 0)
        return 1;
    if (argc > 1)
        pause();
    return 0;
}
