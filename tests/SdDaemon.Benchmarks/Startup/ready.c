/* The floor of the start-up benchmark (measure_startup.py): READY=1 through libsystemd's own
   sd_notify(3), from a C program. Build: gcc -O2 -o ready ready.c -lsystemd */
#include <systemd/sd-daemon.h>

int main(void)
{
    return sd_notify(0, "READY=1") > 0 ? 0 : 1;
}
