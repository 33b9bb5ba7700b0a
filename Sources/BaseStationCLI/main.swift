import BaseStation

BaseStationCommand.main()
