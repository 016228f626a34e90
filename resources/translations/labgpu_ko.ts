<?xml version='1.0' encoding='utf-8'?>
<TS version="2.1" language="ko_KR">
<context>
    <name>AddServerDialog</name>
    <message>
        <source>Add a GPU server</source>
        <translation>GPU 서버 추가</translation>
    </message>
    <message>
        <source>gpu-01.lab.example.org or an alias from ~/.ssh/config</source>
        <translation>gpu-01.lab.example.org 또는 ~/.ssh/config의 별칭</translation>
    </message>
    <message>
        <source>default</source>
        <translation>기본값</translation>
    </message>
    <message>
        <source>default: from ~/.ssh/config or your login name</source>
        <translation>기본값: ~/.ssh/config 또는 로그인 이름</translation>
    </message>
    <message>
        <source>default: ssh-agent and ~/.ssh keys</source>
        <translation>기본값: ssh-agent와 ~/.ssh의 키</translation>
    </message>
    <message>
        <source>Browse…</source>
        <translation>찾아보기…</translation>
    </message>
    <message>
        <source>optional: user@gateway:port</source>
        <translation>선택 사항: user@gateway:port</translation>
    </message>
    <message>
        <source>Connect and discover</source>
        <translation>연결하고 GPU 찾기</translation>
    </message>
    <message>
        <source>Cancel</source>
        <translation>취소</translation>
    </message>
    <message>
        <source>GPU</source>
        <translation>GPU</translation>
    </message>
    <message>
        <source>Model</source>
        <translation>모델</translation>
    </message>
    <message>
        <source>Memory</source>
        <translation>메모리</translation>
    </message>
    <message>
        <source>UUID</source>
        <translation>UUID</translation>
    </message>
    <message>
        <source>Host:</source>
        <translation>호스트:</translation>
    </message>
    <message>
        <source>Port:</source>
        <translation>포트:</translation>
    </message>
    <message>
        <source>User:</source>
        <translation>사용자:</translation>
    </message>
    <message>
        <source>Identity file:</source>
        <translation>개인 키 파일:</translation>
    </message>
    <message>
        <source>Jump host:</source>
        <translation>점프 호스트:</translation>
    </message>
    <message>
        <source>Name in labgpu:</source>
        <translation>labgpu에서 쓸 이름:</translation>
    </message>
    <message>
        <source>GPUs found:</source>
        <translation>찾은 GPU:</translation>
    </message>
    <message>
        <source>Choose an SSH private key</source>
        <translation>SSH 개인 키 선택</translation>
    </message>
    <message>
        <source>Enter the server's host name or address first.</source>
        <translation>먼저 서버의 호스트 이름이나 주소를 입력하세요.</translation>
    </message>
    <message>
        <source>Connecting to {host}…</source>
        <translation>{host}에 연결하는 중…</translation>
    </message>
    <message>
        <source>Cancelled. Nothing was saved.</source>
        <translation>취소했습니다. 아무것도 저장하지 않았습니다.</translation>
    </message>
    <message>
        <source>Discovery failed; see the error report.</source>
        <translation>GPU를 찾지 못했습니다. 오류 보고를 확인하세요.</translation>
    </message>
    <message>
        <source>The host key of {host} was not trusted, so labgpu did not log in. Check the fingerprint with the server's administrator and try again.</source>
        <translation>{host}의 호스트 키를 신뢰하지 않았으므로 labgpu는 로그인하지 않았습니다. 서버 관리자에게 지문을 확인한 뒤 다시 시도하세요.</translation>
    </message>
    <message>
        <source>Unknown host key</source>
        <translation>알 수 없는 호스트 키</translation>
    </message>
    <message>
        <source>labgpu has never seen the host key of {host}.</source>
        <translation>labgpu가 {host}의 호스트 키를 처음 봅니다.</translation>
    </message>
    <message>
        <source>Key type: {key_type}
Fingerprint: {fingerprint}

Compare it with the fingerprint the server's administrator gives you. Trust this key?</source>
        <translation>키 종류: {key_type}
지문: {fingerprint}

서버 관리자가 알려 준 지문과 비교하세요. 이 키를 신뢰하시겠습니까?</translation>
    </message>
    <message>
        <source>unknown</source>
        <translation>알 수 없음</translation>
    </message>
    <message>
        <source>Found {count} GPUs on {host}. Check them, then Save.</source>
        <translation>{host}에서 GPU {count}개를 찾았습니다. 확인한 뒤 저장하세요.</translation>
    </message>
    <message>
        <source>Saving {name}…</source>
        <translation>{name} 저장하는 중…</translation>
    </message>
    <message>
        <source>Saving failed; see the error report.</source>
        <translation>저장하지 못했습니다. 오류 보고를 확인하세요.</translation>
    </message>
</context>
<context>
    <name>ApprovalsPage</name>
    <message>
        <source>Member</source>
        <extracomment>How many requests wait (the window shows it on the navigation).</extracomment>
        <translation>구성원</translation>
    </message>
    <message>
        <source>When</source>
        <translation>기간</translation>
    </message>
    <message>
        <source>GPUs</source>
        <translation>GPU</translation>
    </message>
    <message>
        <source>Note</source>
        <translation>메모</translation>
    </message>
    <message>
        <source>Approve</source>
        <translation>승인</translation>
    </message>
    <message>
        <source>Reject…</source>
        <translation>거절…</translation>
    </message>
    <message>
        <source>Requests waiting for approval</source>
        <extracomment>Asks for a rejection reason; tests replace it. group -&gt; reason or None</extracomment>
        <translation>승인을 기다리는 요청</translation>
    </message>
    <message>
        <source>Approved {user}'s request.</source>
        <translation>{user}님의 요청을 승인했습니다.</translation>
    </message>
    <message>
        <source>Rejected {user}'s request.</source>
        <translation>{user}님의 요청을 거절했습니다.</translation>
    </message>
    <message>
        <source>Reject request</source>
        <translation>요청 거절</translation>
    </message>
    <message>
        <source>Why is {user}'s request rejected? (they will see this)</source>
        <translation>{user}님의 요청을 거절하는 이유는 무엇인가요? (요청자에게 표시됩니다)</translation>
    </message>
</context>
<context>
    <name>BellButton</name>
    <message>
        <source>Notifications ({count})</source>
        <translation>알림 ({count})</translation>
    </message>
    <message>
        <source>Notifications</source>
        <translation>알림</translation>
    </message>
    <message>
        <source>Reminders, decisions and finished jobs, kept until dismissed</source>
        <translation>알림, 결정, 끝난 작업을 지울 때까지 보관합니다</translation>
    </message>
</context>
<context>
    <name>BookingDialog</name>
    <message>
        <source>Book GPUs</source>
        <translation>GPU 예약</translation>
    </message>
    <message>
        <source>What for (shown on the calendar)</source>
        <translation>용도 (캘린더에 표시됨)</translation>
    </message>
    <message>
        <source>GPUs:</source>
        <translation>GPU:</translation>
    </message>
    <message>
        <source>From:</source>
        <translation>시작:</translation>
    </message>
    <message>
        <source>Until:</source>
        <translation>종료:</translation>
    </message>
    <message>
        <source>Note:</source>
        <translation>메모:</translation>
    </message>
    <message>
        <source>Project:</source>
        <translation>프로젝트:</translation>
    </message>
    <message>
        <source>Choose at least one GPU.</source>
        <translation>GPU를 하나 이상 선택하세요.</translation>
    </message>
    <message>
        <source>Checking…</source>
        <translation>확인 중…</translation>
    </message>
    <message>
        <source>Free: these GPUs can be booked for this time.</source>
        <translation>비어 있음: 이 시간에 이 GPU들을 예약할 수 있습니다.</translation>
    </message>
    <message>
        <source>The check failed; see the error report.</source>
        <translation>확인에 실패했습니다. 오류 보고를 확인하세요.</translation>
    </message>
    <message>
        <source>Booking failed; see the error report.</source>
        <translation>예약에 실패했습니다. 오류 보고를 확인하세요.</translation>
    </message>
</context>
<context>
    <name>BookingInfoDialog</name>
    <message>
        <source>Booking of {user}</source>
        <translation>{user}의 예약</translation>
    </message>
    <message>
        <source>Member:</source>
        <translation>구성원:</translation>
    </message>
    <message>
        <source>GPUs:</source>
        <translation>GPU:</translation>
    </message>
    <message>
        <source>When:</source>
        <translation>기간:</translation>
    </message>
    <message>
        <source>Status:</source>
        <translation>상태:</translation>
    </message>
    <message>
        <source>Note:</source>
        <translation>메모:</translation>
    </message>
    <message>
        <source>This is {user}'s booking; ask them to change it.</source>
        <translation>{user}의 예약입니다. 변경은 본인에게 요청하세요.</translation>
    </message>
</context>
<context>
    <name>CalendarPage</name>
    <message>
        <source>Day</source>
        <extracomment>Window setting: draw cancelled and released bookings (as ghosts) or hide them. A booking was made here (the window refreshes other pages). A line for the status bar after an export or a change made here. Asks the person; tests replace it. (title, text) -&gt; yes? Asks for a new end; tests replace it. group -&gt; end or None</extracomment>
        <translation>일</translation>
    </message>
    <message>
        <source>Week</source>
        <translation>주</translation>
    </message>
    <message>
        <source>Earlier</source>
        <translation>이전</translation>
    </message>
    <message>
        <source>Today</source>
        <translation>오늘</translation>
    </message>
    <message>
        <source>Later</source>
        <translation>다음</translation>
    </message>
    <message>
        <source>Find a slot…</source>
        <translation>빈 시간 찾기…</translation>
    </message>
    <message>
        <source>Export .ics…</source>
        <translation>.ics 내보내기…</translation>
    </message>
    <message>
        <source>Save the whole lab's bookings as a calendar file</source>
        <translation>연구실 전체 예약을 캘린더 파일로 저장</translation>
    </message>
    <message>
        <source>Show cancelled</source>
        <translation>취소된 예약 표시</translation>
    </message>
    <message>
        <source>Show cancelled and released bookings as outlines (their GPUs are free)</source>
        <translation>취소되거나 반납된 예약을 윤곽선으로 표시합니다 (해당 GPU는 비어 있습니다)</translation>
    </message>
    <message>
        <source>Booked (colour: member)</source>
        <translation>예약됨 (색: 구성원)</translation>
    </message>
    <message>
        <source>Pending approval</source>
        <translation>승인 대기</translation>
    </message>
    <message>
        <source>Cancelled or released: free</source>
        <translation>취소·반납됨: 비어 있음</translation>
    </message>
    <message>
        <source>Maintenance</source>
        <translation>점검</translation>
    </message>
    <message>
        <source>Drag across GPUs and time to book.</source>
        <translation>GPU와 시간을 드래그해서 예약하세요.</translation>
    </message>
    <message>
        <source>Export the lab calendar</source>
        <translation>연구실 캘린더 내보내기</translation>
    </message>
    <message>
        <source>Calendar (*.ics)</source>
        <translation>캘린더 (*.ics)</translation>
    </message>
    <message>
        <source>Wrote {count} bookings to {path}.</source>
        <translation>예약 {count}건을 {path}에 저장했습니다.</translation>
    </message>
    <message>
        <source>Open…</source>
        <translation>열기…</translation>
    </message>
    <message>
        <source>This is {user}'s booking; ask them to change it.</source>
        <translation>{user}의 예약입니다. 변경은 본인에게 요청하세요.</translation>
    </message>
    <message>
        <source>This booking is {status}; nothing to cancel.</source>
        <translation>이 예약은 {status} 상태라 취소할 것이 없습니다.</translation>
    </message>
    <message>
        <source>Cancel your booking of {gpus} ({when})?</source>
        <translation>{gpus} 예약({when})을 취소할까요?</translation>
    </message>
    <message>
        <source>Cancel booking</source>
        <translation>예약 취소</translation>
    </message>
    <message>
        <source>Booking cancelled.</source>
        <translation>예약을 취소했습니다.</translation>
    </message>
    <message>
        <source>End your booking of {gpus} now and free the GPUs?</source>
        <translation>{gpus} 예약을 지금 종료하고 GPU를 반납할까요?</translation>
    </message>
    <message>
        <source>End booking</source>
        <translation>예약 종료</translation>
    </message>
    <message>
        <source>Booking ended.</source>
        <translation>예약을 종료했습니다.</translation>
    </message>
    <message>
        <source>Booking extended.</source>
        <translation>예약을 연장했습니다.</translation>
    </message>
    <message>
        <source>Job {id} started on {server}; see My bookings.</source>
        <translation>작업 {id}을(를) {server}에서 시작했습니다. 내 예약에서 확인하세요.</translation>
    </message>
</context>
<context>
    <name>ChangePasswordDialog</name>
    <message>
        <source>Choose a new password</source>
        <translation>새 비밀번호 정하기</translation>
    </message>
    <message>
        <source>You signed in with a one-time password. Choose your own password to continue.</source>
        <translation>일회용 비밀번호로 로그인했습니다. 계속하려면 본인의 비밀번호를 정하세요.</translation>
    </message>
    <message>
        <source>New password:</source>
        <translation>새 비밀번호:</translation>
    </message>
    <message>
        <source>Repeat it:</source>
        <translation>한 번 더:</translation>
    </message>
    <message>
        <source>Use at least {count} characters.</source>
        <translation>최소 {count}자 이상으로 하세요.</translation>
    </message>
    <message>
        <source>The two passwords differ.</source>
        <translation>두 비밀번호가 다릅니다.</translation>
    </message>
    <message>
        <source>The password was not changed: {message}</source>
        <translation>비밀번호가 바뀌지 않았습니다: {message}</translation>
    </message>
</context>
<context>
    <name>ClustersDialog</name>
    <message>
        <source>Clusters</source>
        <extracomment>Asks the person (title, question) -&gt; yes?; tests replace it.</extracomment>
        <translation>클러스터</translation>
    </message>
    <message>
        <source>default (22)</source>
        <translation>기본값 (22)</translation>
    </message>
    <message>
        <source>default: ssh-agent and ~/.ssh keys</source>
        <translation>기본값: ssh-agent와 ~/.ssh의 키</translation>
    </message>
    <message>
        <source>SSH key or agent</source>
        <translation>SSH 키 또는 에이전트</translation>
    </message>
    <message>
        <source>One-time password + password</source>
        <translation>일회용 비밀번호(OTP) + 비밀번호</translation>
    </message>
    <message>
        <source>one per line, e.g. --comment=pytorch</source>
        <translation>한 줄에 하나씩, 예: --comment=pytorch</translation>
    </message>
    <message>
        <source>modules to load, separated by spaces</source>
        <translation>불러올 모듈 (공백으로 구분)</translation>
    </message>
    <message>
        <source>no limit</source>
        <translation>제한 없음</translation>
    </message>
    <message>
        <source>New</source>
        <translation>새로 만들기</translation>
    </message>
    <message>
        <source>Save</source>
        <translation>저장</translation>
    </message>
    <message>
        <source>Remove</source>
        <translation>삭제</translation>
    </message>
    <message>
        <source>Log in</source>
        <translation>로그인</translation>
    </message>
    <message>
        <source>Close</source>
        <translation>닫기</translation>
    </message>
    <message>
        <source>Name:</source>
        <translation>이름:</translation>
    </message>
    <message>
        <source>Login node:</source>
        <translation>로그인 노드:</translation>
    </message>
    <message>
        <source>Port:</source>
        <translation>포트:</translation>
    </message>
    <message>
        <source>User:</source>
        <translation>사용자:</translation>
    </message>
    <message>
        <source>Jump host:</source>
        <translation>점프 호스트:</translation>
    </message>
    <message>
        <source>Identity file:</source>
        <translation>개인 키 파일:</translation>
    </message>
    <message>
        <source>Scheduler:</source>
        <translation>스케줄러:</translation>
    </message>
    <message>
        <source>Login:</source>
        <translation>로그인 방식:</translation>
    </message>
    <message>
        <source>Partition / queue:</source>
        <translation>파티션 / 큐:</translation>
    </message>
    <message>
        <source>GPU request:</source>
        <translation>GPU 요청 형식:</translation>
    </message>
    <message>
        <source>Directives:</source>
        <translation>추가 지시문:</translation>
    </message>
    <message>
        <source>Modules:</source>
        <translation>모듈:</translation>
    </message>
    <message>
        <source>Remote folder:</source>
        <translation>원격 폴더:</translation>
    </message>
    <message>
        <source>Longest job (hours):</source>
        <translation>최대 작업 시간 (시간):</translation>
    </message>
    <message>
        <source>Saved {name}.</source>
        <translation>{name}을(를) 저장했습니다.</translation>
    </message>
    <message>
        <source>Removed {name}; its jobs stay in the records.</source>
        <translation>{name}을(를) 삭제했습니다. 작업 기록은 남아 있습니다.</translation>
    </message>
    <message>
        <source>Logged in to {name}.</source>
        <translation>{name}에 로그인했습니다.</translation>
    </message>
    <message>
        <source>labgpu has never seen the host key of {host}.

Key type: {key_type}
Fingerprint: {fingerprint}

Compare it with the fingerprint the cluster's administrators publish. Trust this key?</source>
        <translation>labgpu가 {host}의 호스트 키를 처음 봅니다.

키 종류: {key_type}
지문: {fingerprint}

클러스터 관리자가 공개한 지문과 비교하세요. 이 키를 신뢰하시겠습니까?</translation>
    </message>
    <message>
        <source>Unknown host key</source>
        <translation>알 수 없는 호스트 키</translation>
    </message>
    <message>
        <source>The host key was not trusted, so labgpu did not log in.</source>
        <translation>호스트 키를 신뢰하지 않았으므로 labgpu는 로그인하지 않았습니다.</translation>
    </message>
    <message>
        <source>Working…</source>
        <translation>처리 중…</translation>
    </message>
</context>
<context>
    <name>ConnectDialog</name>
    <message>
        <source>Connect to the lab database</source>
        <translation>연구실 데이터베이스에 연결</translation>
    </message>
    <message>
        <source>Remember the password (in the system keyring)</source>
        <translation>비밀번호 기억하기 (시스템 키링에 저장)</translation>
    </message>
    <message>
        <source>Server:</source>
        <translation>서버:</translation>
    </message>
    <message>
        <source>Port:</source>
        <translation>포트:</translation>
    </message>
    <message>
        <source>Database:</source>
        <translation>데이터베이스:</translation>
    </message>
    <message>
        <source>Member name:</source>
        <translation>구성원 이름:</translation>
    </message>
    <message>
        <source>Password:</source>
        <translation>비밀번호:</translation>
    </message>
    <message>
        <source>Connect</source>
        <translation>연결</translation>
    </message>
    <message>
        <source>Fill in the server, the database and your member name.</source>
        <translation>서버, 데이터베이스, 구성원 이름을 입력하세요.</translation>
    </message>
    <message>
        <source>Connecting to {server}…</source>
        <translation>{server}에 연결하는 중…</translation>
    </message>
    <message>
        <source>Cannot connect: {message}</source>
        <translation>연결할 수 없습니다: {message}</translation>
    </message>
</context>
<context>
    <name>ConnectionBanner</name>
    <message>
        <source>Reconnecting to the database… Changes made now are not saved until it is back. ({message})</source>
        <translation>데이터베이스에 다시 연결하는 중… 연결이 돌아올 때까지 지금 한 변경은 저장되지 않습니다. ({message})</translation>
    </message>
</context>
<context>
    <name>DemandPanel</name>
    <message>
        <source>Member</source>
        <translation>구성원</translation>
    </message>
    <message>
        <source>GPUs</source>
        <translation>GPU</translation>
    </message>
    <message>
        <source>Hours</source>
        <translation>시간</translation>
    </message>
    <message>
        <source>Wanted from</source>
        <translation>희망 시작</translation>
    </message>
    <message>
        <source>Earliest free</source>
        <translation>가장 빠른 빈 시간</translation>
    </message>
    <message>
        <source>Waited</source>
        <translation>대기</translation>
    </message>
    <message>
        <source>Asked</source>
        <translation>요청 시각</translation>
    </message>
    <message>
        <source>Rule</source>
        <translation>규칙</translation>
    </message>
    <message>
        <source>Refused</source>
        <translation>규칙 거절</translation>
    </message>
    <message>
        <source>Requests with no free GPUs when wanted: {count} ({hours} GPU-hours).</source>
        <translation>원하는 시각에 빈 GPU가 없던 요청: {count}건 ({hours} GPU 시간).</translation>
    </message>
    <message>
        <source>Nothing is known of this range: no usage history is kept for it.</source>
        <translation>이 기간에 대해서는 알 수 없습니다: 저장된 사용 기록이 없습니다.</translation>
    </message>
    <message>
        <source>No request in this range went without free GPUs when wanted.</source>
        <translation>이 기간에는 원하는 시각에 빈 GPU를 찾지 못한 요청이 없습니다.</translation>
    </message>
    <message>
        <source>Refused by a lab rule: {count}.</source>
        <translation>연구실 규칙으로 거절: {count}건.</translation>
    </message>
    <message>
        <source>Jobs sent to clusters: {jobs} ({hours} GPU-hours).</source>
        <translation>클러스터로 보낸 작업: {jobs}개 ({hours} GPU 시간).</translation>
    </message>
    <message>
        <source>longest booking</source>
        <translation>최대 예약 시간</translation>
    </message>
    <message>
        <source>how far ahead</source>
        <translation>예약 가능 기간</translation>
    </message>
    <message>
        <source>GPUs at once</source>
        <translation>동시 보유 GPU 수</translation>
    </message>
    <message>
        <source>weekly quota</source>
        <translation>주간 할당량</translation>
    </message>
    <message>
        <source>bookable GPUs</source>
        <translation>예약 가능한 GPU</translation>
    </message>
    <message>
        <source>bookable models</source>
        <translation>예약 가능한 모델</translation>
    </message>
    <message>
        <source>GPUs in one request</source>
        <translation>한 요청의 GPU 수</translation>
    </message>
    <message>
        <source>Pending</source>
        <translation>대기 중</translation>
    </message>
    <message>
        <source>Unmet</source>
        <translation>미충족</translation>
    </message>
    <message>
        <source>Rejected</source>
        <translation>거절됨</translation>
    </message>
    <message>
        <source>No free GPUs when wanted (unmet demand)</source>
        <translation>원하는 시각에 빈 GPU 없음 (충족되지 않은 수요)</translation>
    </message>
    <message>
        <source>Refused by a lab rule (not missing GPUs)</source>
        <translation>연구실 규칙으로 거절됨 (GPU 부족 아님)</translation>
    </message>
    <message>
        <source>Requests per member</source>
        <translation>구성원별 요청</translation>
    </message>
    <message>
        <source>none within the horizon</source>
        <translation>탐색 기간 안에 없음</translation>
    </message>
</context>
<context>
    <name>DemoBanner</name>
    <message>
        <source>Demo lab: 13 simulated servers, 15 members and 90 days of generated history; no real server is contacted. You are {user}.</source>
        <translation>데모 연구실: 시뮬레이션 서버 13대, 구성원 15명, 생성된 90일 기록입니다. 실제 서버에는 접속하지 않습니다. 지금 사용자는 {user}입니다.</translation>
    </message>
    <message>
        <source>Reset demo</source>
        <translation>데모 초기화</translation>
    </message>
    <message>
        <source>Throw away every change made in the demo and generate the lab again</source>
        <translation>데모에서 바꾼 내용을 모두 버리고 연구실을 다시 생성합니다</translation>
    </message>
</context>
<context>
    <name>EvidencePanel</name>
    <message>
        <source>Month</source>
        <translation>월</translation>
    </message>
    <message>
        <source>Model</source>
        <translation>모델</translation>
    </message>
    <message>
        <source>Requests</source>
        <translation>요청</translation>
    </message>
    <message>
        <source>Median wait (h)</source>
        <translation>대기 중앙값 (시간)</translation>
    </message>
    <message>
        <source>p90 wait (h)</source>
        <translation>대기 p90 (시간)</translation>
    </message>
    <message>
        <source>No slot</source>
        <translation>빈 시간 없음</translation>
    </message>
    <message>
        <source>Saturated (%)</source>
        <translation>포화 (%)</translation>
    </message>
    <message>
        <source>Served GPU-h</source>
        <translation>제공된 GPU 시간</translation>
    </message>
    <message>
        <source>Unserved GPU-h</source>
        <translation>제공되지 않은 GPU 시간</translation>
    </message>
    <message>
        <source>Offloaded GPU-h</source>
        <translation>클러스터로 보낸 GPU 시간</translation>
    </message>
    <message>
        <source>Refused GPU-h</source>
        <translation>거절된 GPU 시간</translation>
    </message>
    <message>
        <source>Saturated: an hour in which every bookable GPU of the model was booked or busy for at least half the hour, as a share of the hours with readings. Wait: the earliest start the lab offered minus the start asked for (median and 90th percentile of the searches; rule refusals left out, searches with no slot in the booking horizon counted apart). Unserved: GPU-hours asked for with no GPUs within 30 minutes of the wanted start that the member neither booked later nor sent to a cluster within 24 hours (those are served or offloaded); refused: turned away by a lab rule.</source>
        <translation>포화: 그 모델의 예약 가능한 모든 GPU가 한 시간 중 절반 이상 예약되었거나 사용 중이던 시간이, 측정값이 있는 시간 중 차지하는 비율. 대기: 연구실이 제시한 가장 빠른 시작에서 요청한 시작을 뺀 시간 (빈 시간 찾기의 중앙값과 90번째 백분위수; 규칙 거절은 제외하고, 예약 가능 기간 안에 빈 시간이 없던 찾기는 따로 셈). 제공되지 않음: 원하는 시작 30분 안에 GPU가 없었고, 구성원이 나중에 예약하지도 24시간 안에 클러스터로 보내지도 않은 요청 GPU 시간 (그런 것은 제공됨 또는 클러스터로 보냄에 셈). 거절: 연구실 규칙이 거절한 것.</translation>
    </message>
    <message>
        <source>No job was sent to a cluster in this range.</source>
        <translation>이 기간에 클러스터로 보낸 작업이 없습니다.</translation>
    </message>
    <message>
        <source>{cluster} ({month}): {jobs} jobs, queue wait median {median} h, p90 {p90} h, turnaround median {turnaround} h</source>
        <translation>{cluster} ({month}): 작업 {jobs}개, 큐 대기 중앙값 {median}시간, p90 {p90}시간, 처리 시간 중앙값 {turnaround}시간</translation>
    </message>
    <message>
        <source>Cluster queues: </source>
        <translation>클러스터 큐: </translation>
    </message>
</context>
<context>
    <name>ExtendDialog</name>
    <message>
        <source>Extend booking</source>
        <extracomment>Finished bookings shown this far back. Work runs on an approved booking that is not over.</extracomment>
        <translation>예약 연장</translation>
    </message>
    <message>
        <source>Booking:</source>
        <translation>예약:</translation>
    </message>
    <message>
        <source>New end:</source>
        <translation>새 종료 시각:</translation>
    </message>
</context>
<context>
    <name>FindSlotDialog</name>
    <message>
        <source>Find a slot</source>
        <extracomment>A cluster's start estimate for the request: a time, none (not Slurm), or why it failed.</extracomment>
        <translation>빈 시간 찾기</translation>
    </message>
    <message>
        <source>Any model</source>
        <translation>모든 모델</translation>
    </message>
    <message>
        <source> GPUs</source>
        <translation>개 GPU</translation>
    </message>
    <message>
        <source> h</source>
        <translation>시간</translation>
    </message>
    <message>
        <source>All on one server</source>
        <translation>한 서버에서만</translation>
    </message>
    <message>
        <source>Finish by</source>
        <translation>이 시각까지 끝내기</translation>
    </message>
    <message>
        <source>Search</source>
        <translation>검색</translation>
    </message>
    <message>
        <source>What for (shown on the calendar)</source>
        <translation>용도 (캘린더에 표시됨)</translation>
    </message>
    <message>
        <source>Book</source>
        <translation>예약</translation>
    </message>
    <message>
        <source>Run on a cluster instead…</source>
        <translation>대신 클러스터에서 실행…</translation>
    </message>
    <message>
        <source>Model:</source>
        <translation>모델:</translation>
    </message>
    <message>
        <source>How many:</source>
        <translation>개수:</translation>
    </message>
    <message>
        <source>For:</source>
        <translation>사용 시간:</translation>
    </message>
    <message>
        <source>Deadline:</source>
        <translation>마감:</translation>
    </message>
    <message>
        <source>Project:</source>
        <translation>프로젝트:</translation>
    </message>
    <message>
        <source>Earliest free windows:</source>
        <translation>가장 빠른 빈 시간:</translation>
    </message>
    <message>
        <source>Note:</source>
        <translation>메모:</translation>
    </message>
    <message>
        <source>Searching…</source>
        <translation>찾는 중…</translation>
    </message>
    <message>
        <source>{count} alternatives; choose one and press Book.</source>
        <translation>후보 {count}개: 하나를 고르고 예약을 누르세요.</translation>
    </message>
    <message>
        <source>Nothing fits: try fewer GPUs, a shorter time or a later deadline.</source>
        <translation>맞는 시간이 없습니다. GPU 수를 줄이거나, 시간을 줄이거나, 마감을 늦춰 보세요.</translation>
    </message>
    <message>
        <source>The lab's earliest slot is late for this request; a shared cluster may start it sooner (Run on a cluster instead…).</source>
        <translation>연구실의 가장 빠른 빈 시간이 이 요청에는 늦습니다. 공용 클러스터에서 더 빨리 시작할 수 있습니다 (대신 클러스터에서 실행…).</translation>
    </message>
    <message>
        <source>{cluster} estimates the start at {time}</source>
        <translation>{cluster}의 예상 시작 시각: {time}</translation>
    </message>
    <message>
        <source>No cluster is registered: add one on the Offload page.</source>
        <translation>등록된 클러스터가 없습니다. 클러스터 작업 화면에서 추가하세요.</translation>
    </message>
    <message>
        <source>Offered: GPUs of servers that answer now, in windows your own rules allow (GPUs at once, weekly quota, length). A GPU running someone's process without a booking is offered from {minutes} minutes on.</source>
        <translation>제안 대상: 지금 응답하는 서버의 GPU, 내 규칙(동시 GPU 수, 주간 할당량, 길이)이 허용하는 시간대. 예약 없이 다른 사람의 프로세스가 실행 중인 GPU는 {minutes}분 뒤부터 제안됩니다.</translation>
    </message>
</context>
<context>
    <name>HeatmapChart</name>
    <message>
        <source>Mean utilisation (%)</source>
        <translation>평균 사용률 (%)</translation>
    </message>
    <message>
        <source>no readings</source>
        <translation>측정값 없음</translation>
    </message>
</context>
<context>
    <name>InboxPanel</name>
    <message>
        <source>No notifications. Reminders, decisions on your requests and finished jobs are kept here until you dismiss them.</source>
        <translation>알림이 없습니다. 예약 알림, 신청에 대한 결정, 끝난 작업은 지울 때까지 여기에 보관됩니다.</translation>
    </message>
    <message>
        <source>Dismiss all</source>
        <translation>모두 지우기</translation>
    </message>
    <message>
        <source>Settings…</source>
        <translation>설정…</translation>
    </message>
    <message>
        <source>Where the lab reaches you by mail or chat</source>
        <translation>연구실이 메일이나 채팅으로 연락할 곳</translation>
    </message>
    <message>
        <source>Notifications</source>
        <translation>알림</translation>
    </message>
</context>
<context>
    <name>JobsPanel</name>
    <message>
        <source>ID</source>
        <extracomment>"Job 3 on gpu05 ended (completed); booking given back", once per job. A refresh gave a booking back (the booking lists should read again).</extracomment>
        <translation>ID</translation>
    </message>
    <message>
        <source>Where</source>
        <translation>위치</translation>
    </message>
    <message>
        <source>Booking</source>
        <translation>예약</translation>
    </message>
    <message>
        <source>State</source>
        <translation>상태</translation>
    </message>
    <message>
        <source>Submitted</source>
        <translation>제출 시각</translation>
    </message>
    <message>
        <source>Command</source>
        <translation>명령</translation>
    </message>
    <message>
        <source>Refresh</source>
        <translation>새로 고침</translation>
    </message>
    <message>
        <source>Log…</source>
        <translation>로그…</translation>
    </message>
    <message>
        <source>Cancel job…</source>
        <translation>작업 취소…</translation>
    </message>
    <message>
        <source>Fetch results…</source>
        <translation>결과 가져오기…</translation>
    </message>
    <message>
        <source>Jobs on my bookings</source>
        <extracomment>Asks the person; tests replace it. (title, text) -&gt; yes? Asks where results go; tests replace it. (title, default) -&gt; folder or None</extracomment>
        <translation>내 예약에서 실행한 작업</translation>
    </message>
    <message>
        <source>Job {id} on {server} ended ({state})</source>
        <translation>{server}의 작업 {id}이(가) 끝났습니다 ({state})</translation>
    </message>
    <message>
        <source>; booking given back</source>
        <translation>; 예약을 반납했습니다</translation>
    </message>
    <message>
        <source>No jobs here: the demo lab's servers are simulated, so nothing runs on them. In a real lab, select a booking above and press Run on this booking… to start a command on its GPUs; it shows here with its state and log.</source>
        <translation>작업이 없습니다: 데모 연구실의 서버는 시뮬레이션이라 아무것도 실행되지 않습니다. 실제 연구실에서는 위에서 예약을 고르고 이 예약에서 실행…을 누르면 그 GPU에서 명령이 시작되고, 여기에 상태와 로그가 표시됩니다.</translation>
    </message>
    <message>
        <source>No jobs on your bookings in the last two weeks. Select a booking above and press Run on this booking… to start a command on its GPUs; it runs on the server under your own login and shows here with its state and log.</source>
        <translation>최근 2주 동안 내 예약에서 실행한 작업이 없습니다. 위에서 예약을 고르고 이 예약에서 실행…을 누르면 그 GPU에서 명령이 시작됩니다. 작업은 서버에서 내 계정으로 실행되며 여기에 상태와 로그가 표시됩니다.</translation>
    </message>
    <message>
        <source>starting</source>
        <translation>시작 중</translation>
    </message>
    <message>
        <source>waits for {start}</source>
        <translation>{start}까지 대기</translation>
    </message>
    <message>
        <source>running</source>
        <translation>실행 중</translation>
    </message>
    <message>
        <source>completed</source>
        <translation>완료</translation>
    </message>
    <message>
        <source>failed</source>
        <translation>실패</translation>
    </message>
    <message>
        <source>cancelled</source>
        <translation>취소됨</translation>
    </message>
    <message>
        <source>stopped at the booking's end</source>
        <translation>예약 종료로 중지됨</translation>
    </message>
    <message>
        <source>failed (exit {code})</source>
        <translation>실패 (종료 코드 {code})</translation>
    </message>
    <message>
        <source>, booking given back</source>
        <translation>, 예약 반납됨</translation>
    </message>
    <message>
        <source>Stop job {id} on {server} ({command})? Its booking stays yours.</source>
        <translation>{server}의 작업 {id}({command})을(를) 중지할까요? 예약은 그대로 유지됩니다.</translation>
    </message>
    <message>
        <source>Cancel job</source>
        <translation>작업 취소</translation>
    </message>
    <message>
        <source>Job {id} cancelled.</source>
        <translation>작업 {id}을(를) 취소했습니다.</translation>
    </message>
    <message>
        <source>Fetch results of job {id}</source>
        <translation>작업 {id}의 결과 가져오기</translation>
    </message>
    <message>
        <source>Fetched the results of job {id} into {path}.</source>
        <translation>작업 {id}의 결과를 {path}에 가져왔습니다.</translation>
    </message>
</context>
<context>
    <name>LiveModel</name>
    <message>
        <source>GPU</source>
        <extracomment>Role carrying a bar's filled fraction (0..1) or None. Role carrying a server or GPU's state name (``online``, ``free``, ``busy``, ...).</extracomment>
        <translation>GPU</translation>
    </message>
    <message>
        <source>Model</source>
        <translation>모델</translation>
    </message>
    <message>
        <source>Utilisation</source>
        <translation>사용률</translation>
    </message>
    <message>
        <source>Memory</source>
        <translation>메모리</translation>
    </message>
    <message>
        <source>Temp.</source>
        <translation>온도</translation>
    </message>
    <message>
        <source>Power</source>
        <translation>전력</translation>
    </message>
    <message>
        <source>State</source>
        <translation>상태</translation>
    </message>
    <message>
        <source>Booked by</source>
        <translation>예약자</translation>
    </message>
    <message>
        <source>Owners</source>
        <translation>사용자</translation>
    </message>
    <message>
        <source>Processes</source>
        <translation>프로세스</translation>
    </message>
    <message>
        <source>{name}  ·  {state}  ·  {total} GPUs, {free} free</source>
        <translation>{name}  ·  {state}  ·  GPU {total}개, 빈 GPU {free}개</translation>
    </message>
    <message>
        <source>{name}  ·  {state}: {reason}  ·  last seen {seen}</source>
        <translation>{name}  ·  {state}: {reason}  ·  마지막 응답 {seen}</translation>
    </message>
    <message>
        <source>{user} · idle</source>
        <translation>{user} · 유휴</translation>
    </message>
    <message>
        <source>{user} · ⚠ {other} runs here</source>
        <translation>{user} · ⚠ {other} 사용 중</translation>
    </message>
    <message>
        <source>⚠ {user}, no booking</source>
        <translation>⚠ {user}, 예약 없음</translation>
    </message>
    <message>
        <source>Booked but idle: its GPUs have stayed below the idle threshold.</source>
        <translation>예약했지만 유휴: GPU 사용률이 유휴 기준보다 낮게 유지되었습니다.</translation>
    </message>
    <message>
        <source>In use without a booking by {user}.</source>
        <translation>{user}님이 예약 없이 사용 중입니다.</translation>
    </message>
    <message>
        <source>free until {time}</source>
        <translation>{time}까지 비어 있음</translation>
    </message>
    <message>
        <source>free</source>
        <translation>비어 있음</translation>
    </message>
    <message>
        <source>busy</source>
        <translation>사용 중</translation>
    </message>
    <message>
        <source>booked</source>
        <translation>예약됨</translation>
    </message>
    <message>
        <source>No process runs, but {user}'s booking holds it now.</source>
        <translation>실행 중인 프로세스는 없지만 지금 {user}님의 예약이 잡혀 있습니다.</translation>
    </message>
    <message>
        <source>Free now; a booking starts at {time}.</source>
        <translation>지금은 비어 있음. {time}에 예약이 시작됩니다.</translation>
    </message>
    <message>
        <source>requested by {user}</source>
        <translation>{user} 요청 중</translation>
    </message>
    <message>
        <source>requested</source>
        <translation>요청됨</translation>
    </message>
    <message>
        <source>No process runs; {user}'s request holds it now, waiting for a PI or manager.</source>
        <translation>실행 중인 프로세스는 없고, {user}의 요청이 지금 이 GPU를 잡고 있습니다(PI나 관리자의 결정 대기 중).</translation>
    </message>
</context>
<context>
    <name>LiveView</name>
    <message>
        <source>Free only</source>
        <translation>빈 GPU만</translation>
    </message>
    <message>
        <source>Model:</source>
        <translation>모델:</translation>
    </message>
    <message>
        <source>{shown} of {total} GPUs shown, on {servers} servers, {free} free</source>
        <translation>GPU {total}개 중 {shown}개 표시, 서버 {servers}대, 빈 GPU {free}개</translation>
    </message>
    <message>
        <source>{total} GPUs on {servers} servers, {free} free</source>
        <translation>서버 {servers}대의 GPU {total}개, 빈 GPU {free}개</translation>
    </message>
    <message>
        <source>All models</source>
        <translation>모든 모델</translation>
    </message>
</context>
<context>
    <name>LogDialog</name>
    <message>
        <source>Log of job {id} on {server}</source>
        <extracomment>How often the shown list asks the servers (ms). What a refresh hands back: the jobs to show, those it changed, why nothing runs (the demo).</extracomment>
        <translation>{server}의 작업 {id} 로그</translation>
    </message>
    <message>
        <source>Refresh</source>
        <translation>새로 고침</translation>
    </message>
    <message>
        <source>(the log is empty so far)</source>
        <translation>(아직 로그가 비어 있습니다)</translation>
    </message>
</context>
<context>
    <name>MainWindow</name>
    <message>
        <source>labgpu — Demo lab</source>
        <translation>labgpu — 데모 연구실</translation>
    </message>
    <message>
        <source>Live</source>
        <extracomment>Every page's shortcut, in the navigation's order (Ctrl+0 is the tenth, Settings).</extracomment>
        <translation>실시간</translation>
    </message>
    <message>
        <source>Calendar</source>
        <translation>캘린더</translation>
    </message>
    <message>
        <source>My bookings</source>
        <translation>내 예약</translation>
    </message>
    <message>
        <source>Approvals</source>
        <translation>승인</translation>
    </message>
    <message>
        <source>Rules</source>
        <translation>규칙</translation>
    </message>
    <message>
        <source>Members</source>
        <translation>구성원</translation>
    </message>
    <message>
        <source>Servers</source>
        <translation>서버</translation>
    </message>
    <message>
        <source>Settings</source>
        <translation>설정</translation>
    </message>
    <message>
        <source>Database: {url}</source>
        <translation>데이터베이스: {url}</translation>
    </message>
    <message>
        <source>User: {user}</source>
        <translation>사용자: {user}</translation>
    </message>
    <message>
        <source>Offload</source>
        <translation>클러스터 작업</translation>
    </message>
    <message>
        <source>Usage</source>
        <translation>사용 현황</translation>
    </message>
    <message>
        <source>{page} ({keys})</source>
        <translation>{page} ({keys})</translation>
    </message>
    <message>
        <source>Not refreshed yet</source>
        <translation>아직 새로 고치지 않음</translation>
    </message>
    <message>
        <source>Refresh</source>
        <translation>새로 고침</translation>
    </message>
    <message>
        <source>Add server…</source>
        <translation>서버 추가…</translation>
    </message>
    <message>
        <source>Quit</source>
        <translation>끝내기</translation>
    </message>
    <message>
        <source>Offloaded job finished</source>
        <translation>클러스터 작업이 끝났습니다</translation>
    </message>
    <message>
        <source>Approvals ({count})</source>
        <translation>승인 ({count})</translation>
    </message>
    <message>
        <source>Preparing the demo lab…</source>
        <translation>데모 연구실을 준비하는 중…</translation>
    </message>
    <message>
        <source>The demo lab is generated on first start: 13 servers, 15 members and 90 days of bookings and usage, kept for three days. This takes about {seconds} s.</source>
        <translation>데모 연구실은 처음 시작할 때 생성됩니다: 서버 13대, 구성원 15명, 90일 동안의 예약과 사용 기록이며 사흘 동안 보관됩니다. 약 {seconds}초 걸립니다.</translation>
    </message>
    <message>
        <source>Opening the demo lab…</source>
        <translation>데모 연구실을 여는 중…</translation>
    </message>
    <message>
        <source>Opening the database…</source>
        <translation>데이터베이스를 여는 중…</translation>
    </message>
    <message>
        <source>members, servers and rules</source>
        <translation>구성원, 서버, 규칙</translation>
    </message>
    <message>
        <source>bookings, through the lab's booking rules</source>
        <translation>예약 (연구실의 예약 규칙을 거쳐)</translation>
    </message>
    <message>
        <source>jobs sent to the simulated cluster</source>
        <translation>시뮬레이션 클러스터로 보낸 작업</translation>
    </message>
    <message>
        <source>90 days of usage history</source>
        <translation>90일 사용 기록</translation>
    </message>
    <message>
        <source>the last hour of GPU readings</source>
        <translation>최근 1시간의 GPU 측정값</translation>
    </message>
    <message>
        <source>Step {number} of {total}: {step}</source>
        <translation>{total}단계 중 {number}단계: {step}</translation>
    </message>
    <message>
        <source>Job ended</source>
        <translation>작업 종료</translation>
    </message>
    <message>
        <source>{title} {step}</source>
        <translation>{title} {step}</translation>
    </message>
    <message>
        <source>Reading the servers and GPUs…</source>
        <translation>서버와 GPU를 읽는 중…</translation>
    </message>
    <message>
        <source>Reconnecting to the database…</source>
        <translation>데이터베이스에 다시 연결하는 중…</translation>
    </message>
    <message>
        <source>Refresh failed: {message}</source>
        <translation>새로 고치지 못했습니다: {message}</translation>
    </message>
    <message>
        <source>Reconnected to the database.</source>
        <translation>데이터베이스에 다시 연결되었습니다.</translation>
    </message>
    <message>
        <source>Last refresh: {time}</source>
        <translation>마지막 새로 고침: {time}</translation>
    </message>
    <message>
        <source>Server {name} added.</source>
        <translation>서버 {name}을(를) 추가했습니다.</translation>
    </message>
    <message>
        <source>Server {name} removed.</source>
        <translation>서버 {name}을(를) 삭제했습니다.</translation>
    </message>
    <message>
        <source>Forgot {count} host key(s) of {name}. Add the server again to confirm its new key.</source>
        <translation>{name}의 호스트 키 {count}개를 잊었습니다. 서버를 다시 추가해 새 키를 확인하세요.</translation>
    </message>
    <message>
        <source>The demo lab did not start; run `labgpu --demo` in a terminal.</source>
        <translation>데모 연구실이 시작되지 않았습니다. 터미널에서 `labgpu --demo`를 실행하세요.</translation>
    </message>
    <message>
        <source>Reset the demo lab?</source>
        <translation>데모 연구실을 초기화할까요?</translation>
    </message>
    <message>
        <source>Every booking, rule and server change made in the demo is thrown away and the lab is generated again.</source>
        <translation>데모에서 바꾼 예약, 규칙, 서버가 모두 버려지고 연구실이 다시 생성됩니다.</translation>
    </message>
    <message>
        <source>Generating the demo lab again…</source>
        <translation>데모 연구실을 다시 생성하는 중…</translation>
    </message>
    <message>
        <source>The demo lab was not reset: {message}</source>
        <translation>데모 연구실을 초기화하지 못했습니다: {message}</translation>
    </message>
    <message>
        <source>The demo lab was generated again.</source>
        <translation>데모 연구실을 다시 생성했습니다.</translation>
    </message>
</context>
<context>
    <name>MembersPage</name>
    <message>
        <source>Member</source>
        <extracomment>Dialog hooks, replaced in tests.</extracomment>
        <translation>구성원</translation>
    </message>
    <message>
        <source>Role</source>
        <translation>역할</translation>
    </message>
    <message>
        <source>Password</source>
        <translation>비밀번호</translation>
    </message>
    <message>
        <source>Add member…</source>
        <translation>구성원 추가…</translation>
    </message>
    <message>
        <source>Change role…</source>
        <translation>역할 변경…</translation>
    </message>
    <message>
        <source>Remove…</source>
        <translation>삭제…</translation>
    </message>
    <message>
        <source>Each member signs in with their own database login. Removing a member keeps their bookings and history.</source>
        <translation>구성원은 각자 자신의 데이터베이스 계정으로 로그인합니다. 구성원을 삭제해도 예약과 기록은 남습니다.</translation>
    </message>
    <message>
        <source>one-time, until {time}</source>
        <translation>일회용, {time}까지</translation>
    </message>
    <message>
        <source>set by the member</source>
        <translation>본인이 설정함</translation>
    </message>
    <message>
        <source>Added {name}.</source>
        <translation>{name}을(를) 추가했습니다.</translation>
    </message>
    <message>
        <source>{name} is now {role}.</source>
        <translation>{name}의 역할이 {role}(으)로 바뀌었습니다.</translation>
    </message>
    <message>
        <source>Removed {name}; their history stays.</source>
        <translation>{name}을(를) 삭제했습니다. 기록은 남아 있습니다.</translation>
    </message>
    <message>
        <source>Change role</source>
        <translation>역할 변경</translation>
    </message>
    <message>
        <source>New role for {name}:</source>
        <translation>{name}의 새 역할:</translation>
    </message>
    <message>
        <source>Remove member</source>
        <translation>구성원 삭제</translation>
    </message>
    <message>
        <source>Remove {name}? They can no longer sign in; their bookings and history stay.</source>
        <translation>{name}을(를) 삭제할까요? 더 이상 로그인할 수 없지만 예약과 기록은 남습니다.</translation>
    </message>
</context>
<context>
    <name>MyBookingsPage</name>
    <message>
        <source>When</source>
        <translation>기간</translation>
    </message>
    <message>
        <source>GPUs</source>
        <translation>GPU</translation>
    </message>
    <message>
        <source>Status</source>
        <translation>상태</translation>
    </message>
    <message>
        <source>Note</source>
        <translation>메모</translation>
    </message>
    <message>
        <source>Use…</source>
        <translation>사용…</translation>
    </message>
    <message>
        <source>Run on this booking…</source>
        <translation>이 예약에서 실행…</translation>
    </message>
    <message>
        <source>Cancel booking…</source>
        <translation>예약 취소…</translation>
    </message>
    <message>
        <source>End now…</source>
        <translation>지금 종료…</translation>
    </message>
    <message>
        <source>Extend…</source>
        <translation>연장…</translation>
    </message>
    <message>
        <source>Export .ics…</source>
        <translation>.ics 내보내기…</translation>
    </message>
    <message>
        <source>My bookings (the last two weeks and everything ahead)</source>
        <extracomment>The jobs run on my bookings, under the list. Asks the person; tests replace it. (title, text) -&gt; yes? Asks for a new end; tests replace it. group -&gt; end or None</extracomment>
        <translation>내 예약 (지난 2주와 앞으로의 모든 예약)</translation>
    </message>
    <message>
        <source>Job {id} waits on {server} for the booking's start.</source>
        <translation>작업 {id}이(가) {server}에서 예약 시작을 기다립니다.</translation>
    </message>
    <message>
        <source>Job {id} runs on {server}.</source>
        <translation>작업 {id}이(가) {server}에서 실행 중입니다.</translation>
    </message>
    <message>
        <source>Cancel your booking of {gpus} ({when})?</source>
        <translation>{gpus} 예약({when})을 취소할까요?</translation>
    </message>
    <message>
        <source>Cancel booking</source>
        <translation>예약 취소</translation>
    </message>
    <message>
        <source>Booking cancelled.</source>
        <translation>예약을 취소했습니다.</translation>
    </message>
    <message>
        <source>End your booking of {gpus} now and free the GPUs?</source>
        <translation>{gpus} 예약을 지금 끝내고 GPU를 반납할까요?</translation>
    </message>
    <message>
        <source>End booking</source>
        <translation>예약 종료</translation>
    </message>
    <message>
        <source>Booking ended.</source>
        <translation>예약을 종료했습니다.</translation>
    </message>
    <message>
        <source>Booking extended.</source>
        <translation>예약을 연장했습니다.</translation>
    </message>
    <message>
        <source>Export my bookings</source>
        <translation>내 예약 내보내기</translation>
    </message>
    <message>
        <source>Calendar (*.ics)</source>
        <translation>캘린더 (*.ics)</translation>
    </message>
    <message>
        <source>Wrote {count} bookings to {path}.</source>
        <translation>예약 {count}건을 {path}에 저장했습니다.</translation>
    </message>
</context>
<context>
    <name>NewMemberDialog</name>
    <message>
        <source>Add member</source>
        <translation>구성원 추가</translation>
    </message>
    <message>
        <source>lower-case login, e.g. kim_jiwoo</source>
        <translation>소문자 계정 이름, 예: kim_jiwoo</translation>
    </message>
    <message>
        <source>Login name:</source>
        <translation>계정 이름:</translation>
    </message>
    <message>
        <source>Role:</source>
        <translation>역할:</translation>
    </message>
</context>
<context>
    <name>Notices</name>
    <message>
        <source>The demo lab sends nothing. In a lab database the lab's collector service sends these messages, also while this app is closed.</source>
        <extracomment>The kind of a message the app tells of its own (a job's end seen by its poll).</extracomment>
        <translation>데모 연구실은 아무것도 보내지 않습니다. 연구실 데이터베이스에서는 연구실의 수집기 서비스가 이 메시지를 보냅니다. 이 앱이 닫혀 있을 때도 보냅니다.</translation>
    </message>
    <message>
        <source>The lab's collector service sends these messages, also while this app is closed.</source>
        <translation>연구실의 수집기 서비스가 이 메시지를 보냅니다. 이 앱이 닫혀 있을 때도 보냅니다.</translation>
    </message>
    <message>
        <source>Nothing is sent: {problem}</source>
        <translation>아무것도 보내지 않습니다: {problem}</translation>
    </message>
    <message>
        <source>This app sends these messages while it runs, through the mail server set in {path}.</source>
        <translation>이 앱이 실행되는 동안 {path}에 설정된 메일 서버를 통해 이 메시지를 보냅니다.</translation>
    </message>
    <message>
        <source>Nothing is sent yet: this app sends mail and chat messages while it runs once the mail server is set in {path} (README, Notifications).</source>
        <translation>아직 아무것도 보내지 않습니다: {path}에 메일 서버를 설정하면 이 앱이 실행되는 동안 메일과 채팅 메시지를 보냅니다 (README, Notifications).</translation>
    </message>
    <message>
        <source>Notifications</source>
        <extracomment>One line for the status bar. The list's *Settings…* button.</extracomment>
        <translation>알림</translation>
    </message>
</context>
<context>
    <name>Notifier</name>
    <message>
        <source>Booking starts at {time}</source>
        <extracomment>The text of each reminder (the window shows it in its status bar too). Where reminders are kept until dismissed (the window's list announces them).</extracomment>
        <translation>{time}에 예약이 시작됩니다</translation>
    </message>
    <message>
        <source>Booking ends at {time}</source>
        <translation>{time}에 예약이 끝납니다</translation>
    </message>
    <message>
        <source>{who} uses a GPU you hold</source>
        <translation>{who} 님이 내가 예약한 GPU를 사용 중입니다</translation>
    </message>
    <message>
        <source>Idle booking released at {time}</source>
        <translation>유휴 예약이 {time}에 해제됩니다</translation>
    </message>
</context>
<context>
    <name>NotifyBox</name>
    <message>
        <source>A request waits for my decision (PIs, managers)</source>
        <translation>신청이 내 결정을 기다림 (PI, 관리자)</translation>
    </message>
    <message>
        <source>My request was approved</source>
        <translation>내 신청이 승인됨</translation>
    </message>
    <message>
        <source>My request was rejected</source>
        <translation>내 신청이 거절됨</translation>
    </message>
    <message>
        <source>My booking sits idle and will be released</source>
        <translation>내 예약이 유휴 상태라 해제될 예정</translation>
    </message>
    <message>
        <source>My idle booking was released</source>
        <translation>유휴 상태인 내 예약이 해제됨</translation>
    </message>
    <message>
        <source>My booking starts soon</source>
        <translation>내 예약이 곧 시작됨</translation>
    </message>
    <message>
        <source>My booking ends soon</source>
        <translation>내 예약이 곧 끝남</translation>
    </message>
    <message>
        <source>Someone uses a GPU I hold</source>
        <translation>누군가 내가 예약한 GPU를 사용함</translation>
    </message>
    <message>
        <source>A job of mine ended</source>
        <translation>내 작업이 끝남</translation>
    </message>
    <message>
        <source>A job of mine failed</source>
        <translation>내 작업이 실패함</translation>
    </message>
    <message>
        <source>A server is offline (managers)</source>
        <translation>서버가 오프라인임 (관리자)</translation>
    </message>
    <message>
        <source>Mail or chat sending fails (managers)</source>
        <translation>메일이나 채팅 전송이 실패함 (관리자)</translation>
    </message>
    <message>
        <source>Mail and chat</source>
        <extracomment>The kinds in the box: the member's own first, then the deciders' and managers'. The lead (minutes) the lab has for this member, once read.</extracomment>
        <translation>메일과 채팅</translation>
    </message>
    <message>
        <source>name@example.org</source>
        <translation>name@example.org</translation>
    </message>
    <message>
        <source>A Slack, Mattermost or Rocket.Chat incoming webhook of your own channel</source>
        <translation>내 채널의 Slack, Mattermost 또는 Rocket.Chat 수신 웹후크</translation>
    </message>
    <message>
        <source>English</source>
        <translation>English</translation>
    </message>
    <message>
        <source>Save</source>
        <translation>저장</translation>
    </message>
    <message>
        <source>Send a test message</source>
        <translation>테스트 메시지 보내기</translation>
    </message>
    <message>
        <source>E-mail:</source>
        <translation>이메일:</translation>
    </message>
    <message>
        <source>Chat webhook:</source>
        <translation>채팅 웹후크:</translation>
    </message>
    <message>
        <source>Language of the messages:</source>
        <translation>메시지 언어:</translation>
    </message>
    <message>
        <source>Tell me when:</source>
        <translation>알려 줄 때:</translation>
    </message>
    <message>
        <source>Reading…</source>
        <translation>읽는 중…</translation>
    </message>
    <message>
        <source>Saving…</source>
        <translation>저장하는 중…</translation>
    </message>
    <message>
        <source>Saved.</source>
        <translation>저장했습니다.</translation>
    </message>
    <message>
        <source>Save an e-mail address or a webhook first.</source>
        <translation>먼저 이메일 주소나 웹후크를 저장하세요.</translation>
    </message>
    <message>
        <source>The demo lab sends nothing, not even a test.</source>
        <translation>데모 연구실은 테스트 메시지도 보내지 않습니다.</translation>
    </message>
    <message>
        <source>A test message is queued to your saved addresses.</source>
        <translation>저장된 주소로 보낼 테스트 메시지를 대기열에 넣었습니다.</translation>
    </message>
    <message>
        <source>A test message was already queued this minute.</source>
        <translation>이번 1분 안에 이미 테스트 메시지를 대기열에 넣었습니다.</translation>
    </message>
    <message>
        <source>Could not read or save: {error}</source>
        <translation>읽거나 저장할 수 없습니다: {error}</translation>
    </message>
</context>
<context>
    <name>OffloadPage</name>
    <message>
        <source>Name</source>
        <extracomment>Lines such as "labgpu-…: completed; results in …" for the tray / status bar.</extracomment>
        <translation>이름</translation>
    </message>
    <message>
        <source>State</source>
        <translation>상태</translation>
    </message>
    <message>
        <source>GPUs</source>
        <translation>GPU</translation>
    </message>
    <message>
        <source>Where</source>
        <translation>위치</translation>
    </message>
    <message>
        <source>Elapsed</source>
        <translation>경과 시간</translation>
    </message>
    <message>
        <source>Submitted</source>
        <translation>제출 시각</translation>
    </message>
    <message>
        <source>Script</source>
        <translation>스크립트</translation>
    </message>
    <message>
        <source>Log</source>
        <translation>로그</translation>
    </message>
    <message>
        <source>Outputs</source>
        <translation>결과물</translation>
    </message>
    <message>
        <source>Submit job…</source>
        <translation>작업 제출…</translation>
    </message>
    <message>
        <source>Clusters…</source>
        <translation>클러스터…</translation>
    </message>
    <message>
        <source>Refresh</source>
        <translation>새로 고침</translation>
    </message>
    <message>
        <source>All members' jobs</source>
        <translation>모든 구성원의 작업</translation>
    </message>
    <message>
        <source>Every member's jobs, as the lab records them (only yours are followed)</source>
        <translation>연구실에 기록된 모든 구성원의 작업 (상태는 내 작업만 갱신됩니다)</translation>
    </message>
    <message>
        <source>Cancel job</source>
        <translation>작업 취소</translation>
    </message>
    <message>
        <source>Resubmit</source>
        <translation>다시 제출</translation>
    </message>
    <message>
        <source>Fetch results</source>
        <translation>결과 가져오기</translation>
    </message>
    <message>
        <source>Show log</source>
        <translation>로그 보기</translation>
    </message>
    <message>
        <source>{name} {state}; results in {path}</source>
        <translation>{name}: {state}, 결과는 {path}에 있습니다</translation>
    </message>
    <message>
        <source>submitting</source>
        <translation>제출 중</translation>
    </message>
    <message>
        <source>queued</source>
        <translation>대기 중</translation>
    </message>
    <message>
        <source>running</source>
        <translation>실행 중</translation>
    </message>
    <message>
        <source>completed</source>
        <translation>완료</translation>
    </message>
    <message>
        <source>failed</source>
        <translation>실패</translation>
    </message>
    <message>
        <source>cancelled</source>
        <translation>취소됨</translation>
    </message>
    <message>
        <source>timed out</source>
        <translation>시간 초과</translation>
    </message>
    <message>
        <source>unknown</source>
        <translation>알 수 없음</translation>
    </message>
    <message>
        <source>{state} (exit {code})</source>
        <translation>{state} (종료 코드 {code})</translation>
    </message>
    <message>
        <source>Results folder: {path}</source>
        <translation>결과 폴더: {path}</translation>
    </message>
    <message>
        <source>(nothing fetched yet)</source>
        <translation>(아직 가져온 파일이 없습니다)</translation>
    </message>
    <message>
        <source>Booked {server} and started job {id} there (My bookings lists it).</source>
        <translation>{server}를 예약하고 그곳에서 작업 {id}을(를) 시작했습니다 (내 예약에 표시됩니다).</translation>
    </message>
    <message>
        <source>Register a cluster first (Clusters…).</source>
        <translation>먼저 클러스터를 등록하세요 (클러스터…).</translation>
    </message>
    <message>
        <source>Submitted {name} to {cluster}.</source>
        <translation>{name}을(를) {cluster}에 제출했습니다.</translation>
    </message>
    <message>
        <source>Cancelled {name}.</source>
        <translation>{name}을(를) 취소했습니다.</translation>
    </message>
    <message>
        <source>Submitted {name} again.</source>
        <translation>{name}을(를) 다시 제출했습니다.</translation>
    </message>
    <message>
        <source>Fetched the results of {name}.</source>
        <translation>{name}의 결과를 가져왔습니다.</translation>
    </message>
    <message>
        <source>Reading the log…</source>
        <translation>로그를 읽는 중…</translation>
    </message>
    <message>
        <source>{server} (booking)</source>
        <translation>{server} (예약)</translation>
    </message>
    <message>
        <source>{state}, booking given back</source>
        <translation>{state}, 예약 반환됨</translation>
    </message>
</context>
<context>
    <name>OneTimePasswordDialog</name>
    <message>
        <source>One-time password</source>
        <translation>일회용 비밀번호</translation>
    </message>
    <message>
        <source>Give {name} this one-time password. It is shown only now and expires in a week; labgpu asks {name} for a new password at the first sign-in.</source>
        <translation>{name}에게 이 일회용 비밀번호를 전달하세요. 지금 한 번만 표시되며 일주일 후 만료됩니다. 첫 로그인 때 labgpu가 {name}에게 새 비밀번호를 요청합니다.</translation>
    </message>
    <message>
        <source>Copy</source>
        <translation>복사</translation>
    </message>
</context>
<context>
    <name>OtpDialog</name>
    <message>
        <source>Log in to {cluster}</source>
        <translation>{cluster}에 로그인</translation>
    </message>
    <message>
        <source>{cluster} asks for the answers below. labgpu tries them once: repeated failures can lock your account.</source>
        <translation>{cluster}에서 아래 항목을 묻습니다. labgpu는 한 번만 시도합니다. 실패가 반복되면 계정이 잠길 수 있습니다.</translation>
    </message>
    <message>
        <source>Keep the password in the system keyring (never the OTP)</source>
        <translation>비밀번호를 시스템 키링에 저장 (OTP는 저장하지 않음)</translation>
    </message>
    <message>
        <source>Log in</source>
        <translation>로그인</translation>
    </message>
</context>
<context>
    <name>PreparingWidget</name>
    <message>
        <source>{seconds} s</source>
        <translation>{seconds}초</translation>
    </message>
    <message>
        <source>{step} · {seconds}</source>
        <translation>{step} · {seconds}</translation>
    </message>
</context>
<context>
    <name>PricesDialog</name>
    <message>
        <source>Prices…</source>
        <extracomment>The editable columns, after the model's.</extracomment>
        <translation>가격…</translation>
    </message>
    <message>
        <source>What each GPU model costs in the cloud, on a cluster and to buy</source>
        <translation>GPU 모델별 클라우드, 클러스터 비용과 구입 가격</translation>
    </message>
    <message>
        <source>GPU prices</source>
        <translation>GPU 가격</translation>
    </message>
    <message>
        <source>What each model would cost elsewhere, for the monthly report's cost: a cloud price and a cluster rate per GPU-hour, and the price of one GPU. Leave a cell empty for no price: no cost is shown without one.</source>
        <translation>월간 보고서의 비용에 쓰는, 각 모델을 다른 곳에서 썼다면 들었을 비용입니다: GPU 시간당 클라우드 가격과 클러스터 요금, 그리고 GPU 한 개의 가격. 가격이 없으면 칸을 비워 두세요: 가격이 없으면 비용은 표시되지 않습니다.</translation>
    </message>
    <message>
        <source>Model</source>
        <translation>모델</translation>
    </message>
    <message>
        <source>Currency</source>
        <translation>통화</translation>
    </message>
    <message>
        <source>Cloud / GPU-h</source>
        <translation>클라우드 / GPU 시간</translation>
    </message>
    <message>
        <source>Cluster / GPU-h</source>
        <translation>클러스터 / GPU 시간</translation>
    </message>
    <message>
        <source>Purchase / GPU</source>
        <translation>구입가 / GPU</translation>
    </message>
    <message>
        <source>Nothing changed.</source>
        <translation>바뀐 것이 없습니다.</translation>
    </message>
    <message>
        <source>Saved the prices of {n} model(s).</source>
        <translation>모델 {n}개의 가격을 저장했습니다.</translation>
    </message>
</context>
<context>
    <name>ProjectCombo</name>
    <message>
        <source>(none)</source>
        <extracomment>What the worker reads: the active projects and the member's default project.</extracomment>
        <translation>(없음)</translation>
    </message>
    <message>
        <source>The project or grant this work is for</source>
        <translation>이 작업이 속한 프로젝트 또는 연구 과제</translation>
    </message>
</context>
<context>
    <name>ProjectsDialog</name>
    <message>
        <source>Projects…</source>
        <translation>프로젝트…</translation>
    </message>
    <message>
        <source>The projects and grants work is booked for</source>
        <translation>작업을 예약할 때 지정하는 프로젝트와 연구 과제</translation>
    </message>
    <message>
        <source>Projects</source>
        <translation>프로젝트</translation>
    </message>
    <message>
        <source>Bookings and offloaded jobs may name a project; the Usage page and the monthly report show GPU-hours per project. A retired project keeps its history but new work cannot name it.</source>
        <translation>예약과 클러스터 작업에는 프로젝트를 지정할 수 있습니다. 사용 현황 화면과 월간 보고서에 프로젝트별 GPU 시간이 표시됩니다. 종료된 프로젝트는 기록은 남지만 새 작업에는 지정할 수 없습니다.</translation>
    </message>
    <message>
        <source>Name</source>
        <translation>이름</translation>
    </message>
    <message>
        <source>Title</source>
        <translation>제목</translation>
    </message>
    <message>
        <source>State</source>
        <translation>상태</translation>
    </message>
    <message>
        <source>name, e.g. nrf-2026</source>
        <translation>이름, 예: nrf-2026</translation>
    </message>
    <message>
        <source>title, e.g. the grant's full name</source>
        <translation>제목, 예: 연구 과제의 전체 이름</translation>
    </message>
    <message>
        <source>Add</source>
        <translation>추가</translation>
    </message>
    <message>
        <source>Retire</source>
        <translation>종료</translation>
    </message>
    <message>
        <source>active</source>
        <translation>활성</translation>
    </message>
    <message>
        <source>retired</source>
        <translation>종료됨</translation>
    </message>
    <message>
        <source>Reactivate</source>
        <translation>다시 활성화</translation>
    </message>
    <message>
        <source>Give the project a name.</source>
        <translation>프로젝트 이름을 입력하세요.</translation>
    </message>
</context>
<context>
    <name>ProjectsTable</name>
    <message>
        <source>Project</source>
        <extracomment>The figures shown (what *Save data as CSV* writes on this tab).</extracomment>
        <translation>프로젝트</translation>
    </message>
    <message>
        <source>Title</source>
        <translation>제목</translation>
    </message>
    <message>
        <source>Booked GPU-h</source>
        <translation>예약 GPU 시간</translation>
    </message>
    <message>
        <source>Used GPU-h</source>
        <translation>사용 GPU 시간</translation>
    </message>
    <message>
        <source>Slot requests</source>
        <translation>빈 시간 요청</translation>
    </message>
    <message>
        <source>Median wait (h)</source>
        <translation>대기 중앙값 (시간)</translation>
    </message>
    <message>
        <source>Offloaded GPU-h</source>
        <translation>클러스터로 보낸 GPU 시간</translation>
    </message>
    <message>
        <source>Unserved GPU-h</source>
        <translation>제공되지 않은 GPU 시간</translation>
    </message>
    <message>
        <source>Booked: GPU-hours of bookings for the project. Used: its members' process GPU-hours on GPUs they had booked for it. Median wait: of its slot searches the lab answered. Unserved: GPU-hours it asked for and the lab lacked (neither booked later nor followed by an offloaded job). (none): work that named no project.</source>
        <translation>예약: 이 프로젝트로 한 예약의 GPU 시간. 사용: 구성원이 이 프로젝트로 예약한 GPU에서 프로세스가 쓴 GPU 시간. 대기 중앙값: 연구실이 답한 빈 시간 찾기 기준. 미제공: 요청했지만 연구실에 없었던 GPU 시간 (나중에 예약하지도, 클러스터 작업으로 이어지지도 않은 것). (없음): 프로젝트를 지정하지 않은 작업.</translation>
    </message>
    <message>
        <source>(none)</source>
        <translation>(없음)</translation>
    </message>
</context>
<context>
    <name>RangeBar</name>
    <message>
        <source>24 h</source>
        <translation>24시간</translation>
    </message>
    <message>
        <source>7 days</source>
        <translation>7일</translation>
    </message>
    <message>
        <source>30 days</source>
        <translation>30일</translation>
    </message>
    <message>
        <source>1 year</source>
        <translation>1년</translation>
    </message>
    <message>
        <source>Custom</source>
        <translation>직접 지정</translation>
    </message>
    <message>
        <source>Reading usage…</source>
        <translation>사용 기록을 읽는 중…</translation>
    </message>
</context>
<context>
    <name>RulesPage</name>
    <message>
        <source> h</source>
        <translation>시간</translation>
    </message>
    <message>
        <source> days</source>
        <translation>일</translation>
    </message>
    <message>
        <source>Weekly quota</source>
        <translation>주간 한도</translation>
    </message>
    <message>
        <source> GPU-h</source>
        <translation> GPU 시간</translation>
    </message>
    <message>
        <source> min</source>
        <translation>분</translation>
    </message>
    <message>
        <source>Release idle bookings</source>
        <translation>유휴 예약 자동 해제</translation>
    </message>
    <message>
        <source>Warn only</source>
        <translation>경고만</translation>
    </message>
    <message>
        <source>Stop the job</source>
        <translation>작업 중지</translation>
    </message>
    <message>
        <source> s</source>
        <translation>초</translation>
    </message>
    <message>
        <source>Show it (tell the holder)</source>
        <translation>표시만 (예약자에게 알림)</translation>
    </message>
    <message>
        <source>Also message the user's terminals</source>
        <translation>사용자의 터미널에도 메시지 보내기</translation>
    </message>
    <message>
        <source>Also stop their processes</source>
        <translation>해당 프로세스도 중지</translation>
    </message>
    <message>
        <source>Save rules</source>
        <translation>규칙 저장</translation>
    </message>
    <message>
        <source>Reason (e.g. driver update)</source>
        <translation>사유 (예: 드라이버 업데이트)</translation>
    </message>
    <message>
        <source>Block selected GPUs</source>
        <translation>선택한 GPU 막기</translation>
    </message>
    <message>
        <source>Remove window</source>
        <translation>점검 삭제</translation>
    </message>
    <message>
        <source>Longest booking:</source>
        <translation>최대 예약 길이:</translation>
    </message>
    <message>
        <source>Book at most this far ahead:</source>
        <translation>예약 가능한 최대 선행 기간:</translation>
    </message>
    <message>
        <source>GPUs one member may hold at once:</source>
        <translation>한 사람이 동시에 쓸 수 있는 GPU:</translation>
    </message>
    <message>
        <source>Weekly GPU-hours per member:</source>
        <translation>1인당 주간 GPU 시간:</translation>
    </message>
    <message>
        <source>Model weights (model=weight, …):</source>
        <translation>모델 가중치 (모델=가중치, …):</translation>
    </message>
    <message>
        <source>Models that need approval:</source>
        <translation>승인이 필요한 모델:</translation>
    </message>
    <message>
        <source>Idle below:</source>
        <translation>유휴 기준 사용률:</translation>
    </message>
    <message>
        <source>Idle for:</source>
        <translation>유휴 지속 시간:</translation>
    </message>
    <message>
        <source>Release after idle for:</source>
        <translation>유휴 상태로 이만큼 지나면 해제:</translation>
    </message>
    <message>
        <source>Warn the holder before:</source>
        <translation>해제 전 예약자에게 알림:</translation>
    </message>
    <message>
        <source>When a booking ends and its job still runs:</source>
        <translation>예약이 끝났는데 작업이 아직 실행 중이면:</translation>
    </message>
    <message>
        <source>Grace before SIGKILL:</source>
        <translation>SIGKILL 전 유예 시간:</translation>
    </message>
    <message>
        <source>Someone else uses a held GPU:</source>
        <translation>다른 사람이 예약된 GPU를 사용할 때:</translation>
    </message>
    <message>
        <source>Stop their processes after:</source>
        <translation>프로세스 중지까지 유예:</translation>
    </message>
    <message>
        <source>Booking rules</source>
        <translation>예약 규칙</translation>
    </message>
    <message>
        <source>GPUs (checked: bookable; select to block)</source>
        <translation>GPU (체크: 예약 가능, 선택: 점검 대상)</translation>
    </message>
    <message>
        <source>Maintenance windows</source>
        <translation>점검 일정</translation>
    </message>
    <message>
        <source>From:</source>
        <translation>시작:</translation>
    </message>
    <message>
        <source>Until:</source>
        <translation>종료:</translation>
    </message>
    <message>
        <source>Reason:</source>
        <translation>사유:</translation>
    </message>
    <message>
        <source>Cannot read the model weights at “{entry}”; write them as A40=3, A100=4.</source>
        <translation>모델 가중치 “{entry}”를 읽을 수 없습니다. A40=3, A100=4 처럼 쓰세요.</translation>
    </message>
    <message>
        <source>Rules saved.</source>
        <translation>규칙을 저장했습니다.</translation>
    </message>
    <message>
        <source>GPU updated.</source>
        <translation>GPU 설정을 바꿨습니다.</translation>
    </message>
    <message>
        <source>Select the GPUs to block in the list first.</source>
        <translation>먼저 목록에서 막을 GPU를 선택하세요.</translation>
    </message>
    <message>
        <source>Maintenance window added.</source>
        <translation>점검 일정을 추가했습니다.</translation>
    </message>
    <message>
        <source>Maintenance window removed.</source>
        <translation>점검 일정을 삭제했습니다.</translation>
    </message>
</context>
<context>
    <name>RunDialog</name>
    <message>
        <source>Run on this booking</source>
        <extracomment>The longest warning before the end the dialog offers (minutes).</extracomment>
        <translation>이 예약에서 실행</translation>
    </message>
    <message>
        <source>optional: staged to the server first</source>
        <translation>선택: 먼저 서버로 복사됩니다</translation>
    </message>
    <message>
        <source>Browse…</source>
        <translation>찾아보기…</translation>
    </message>
    <message>
        <source>optional, comma-separated: checkpoints, out.csv</source>
        <translation>선택, 쉼표로 구분: checkpoints, out.csv</translation>
    </message>
    <message>
        <source> min</source>
        <translation>분</translation>
    </message>
    <message>
        <source>Reading the lab's rule…</source>
        <translation>연구실 규칙을 읽는 중…</translation>
    </message>
    <message>
        <source>Start</source>
        <translation>시작</translation>
    </message>
    <message>
        <source>Booking of {user}: {gpus}, {when}</source>
        <translation>{user}의 예약: {gpus}, {when}</translation>
    </message>
    <message>
        <source>Server:</source>
        <translation>서버:</translation>
    </message>
    <message>
        <source>Folder:</source>
        <translation>폴더:</translation>
    </message>
    <message>
        <source>Command:</source>
        <translation>명령:</translation>
    </message>
    <message>
        <source>Results to bring back:</source>
        <translation>가져올 결과:</translation>
    </message>
    <message>
        <source>Warn before the end:</source>
        <translation>종료 전 경고:</translation>
    </message>
    <message>
        <source>At the booking's end:</source>
        <translation>예약이 끝나면:</translation>
    </message>
    <message>
        <source>The job runs on the server under your own login and goes on when this app closes; a booking that starts later makes it wait there until the start.</source>
        <translation>작업은 서버에서 내 계정으로 실행되며 이 앱을 닫아도 계속됩니다. 나중에 시작하는 예약이면 시작 시각까지 서버에서 기다립니다.</translation>
    </message>
    <message>
        <source>The lab's rule could not be read.</source>
        <translation>연구실 규칙을 읽지 못했습니다.</translation>
    </message>
    <message>
        <source>the job is stopped (SIGTERM, then SIGKILL after {grace} s) — the lab's rule</source>
        <translation>작업을 중지합니다 (SIGTERM, {grace}초 뒤 SIGKILL) — 연구실 규칙</translation>
    </message>
    <message>
        <source>a warning in the job's log; the job goes on — the lab's rule</source>
        <translation>작업 로그에 경고를 남기고 작업은 계속됩니다 — 연구실 규칙</translation>
    </message>
    <message>
        <source>Folder to run in</source>
        <translation>실행할 폴더</translation>
    </message>
    <message>
        <source>Give the command to run.</source>
        <translation>실행할 명령을 입력하세요.</translation>
    </message>
</context>
<context>
    <name>SaturationChart</name>
    <message>
        <source>Hours saturated (%)</source>
        <translation>포화된 시간 (%)</translation>
    </message>
    <message>
        <source>{model}: {share} % of hours saturated</source>
        <translation>{model}: 시간의 {share} % 포화</translation>
    </message>
</context>
<context>
    <name>ServersModel</name>
    <message>
        <source>Name</source>
        <translation>이름</translation>
    </message>
    <message>
        <source>Host</source>
        <translation>호스트</translation>
    </message>
    <message>
        <source>Port</source>
        <translation>포트</translation>
    </message>
    <message>
        <source>User</source>
        <translation>사용자</translation>
    </message>
    <message>
        <source>State</source>
        <translation>상태</translation>
    </message>
    <message>
        <source>Reason</source>
        <translation>사유</translation>
    </message>
    <message>
        <source>Last seen</source>
        <translation>마지막 응답</translation>
    </message>
    <message>
        <source>GPUs</source>
        <translation>GPU 수</translation>
    </message>
</context>
<context>
    <name>ServersView</name>
    <message>
        <source>Add server…</source>
        <translation>서버 추가…</translation>
    </message>
    <message>
        <source>Remove…</source>
        <translation>삭제…</translation>
    </message>
    <message>
        <source>Forget host key…</source>
        <translation>호스트 키 잊기…</translation>
    </message>
    <message>
        <source>After a server was reinstalled: forget its old SSH host key, so that the next contact asks you to confirm the new one.</source>
        <translation>서버를 다시 설치한 뒤에 쓰세요: 예전 SSH 호스트 키를 잊고, 다음 연결 때 새 키를 확인하도록 묻습니다.</translation>
    </message>
    <message>
        <source>Forget host key</source>
        <translation>호스트 키 잊기</translation>
    </message>
    <message>
        <source>Forget the SSH host key labgpu knows for {name}? Do this only when the server was reinstalled or its key was replaced on purpose; labgpu then asks you to confirm the new key the next time you add the server.</source>
        <translation>labgpu가 알고 있는 {name}의 SSH 호스트 키를 잊으시겠습니까? 서버를 다시 설치했거나 키를 일부러 바꾼 경우에만 하세요. 다음에 서버를 추가할 때 labgpu가 새 키를 확인하도록 묻습니다.</translation>
    </message>
    <message>
        <source>Remove server</source>
        <translation>서버 삭제</translation>
    </message>
    <message>
        <source>Remove the server {name}? Its GPUs and their whole history (samples, processes) are deleted from the database. The server itself is not touched.</source>
        <translation>서버 {name}을(를) 삭제하시겠습니까? 이 서버의 GPU와 모든 기록(측정값, 프로세스)이 데이터베이스에서 지워집니다. 서버 자체는 건드리지 않습니다.</translation>
    </message>
</context>
<context>
    <name>SettingsPage</name>
    <message>
        <source>Language</source>
        <translation>언어</translation>
    </message>
    <message>
        <source>Restart labgpu now in {language}?</source>
        <translation>지금 labgpu를 {language}(으)로 다시 시작할까요?</translation>
    </message>
    <message>
        <source>Restart</source>
        <translation>다시 시작</translation>
    </message>
    <message>
        <source>Later</source>
        <translation>나중에</translation>
    </message>
    <message>
        <source>System language</source>
        <translation>시스템 언어</translation>
    </message>
    <message>
        <source>A new language is used the next time labgpu starts.</source>
        <translation>바꾼 언어는 labgpu를 다시 시작하면 적용됩니다.</translation>
    </message>
    <message>
        <source> s</source>
        <translation>초</translation>
    </message>
    <message>
        <source> min before</source>
        <translation>분 전</translation>
    </message>
    <message>
        <source>A reminder before each of your bookings starts and ends</source>
        <translation>내 예약이 시작하고 끝나기 전에 알려 줍니다</translation>
    </message>
    <message>
        <source>Booking reminders:</source>
        <translation>예약 알림:</translation>
    </message>
    <message>
        <source>Language:</source>
        <translation>언어:</translation>
    </message>
    <message>
        <source>Refresh the Live view every:</source>
        <translation>실시간 보기 새로 고침 간격:</translation>
    </message>
    <message>
        <source>Database:</source>
        <translation>데이터베이스:</translation>
    </message>
    <message>
        <source>Signed in as:</source>
        <translation>사용자:</translation>
    </message>
</context>
<context>
    <name>SubmitJobDialog</name>
    <message>
        <source>Submit job to a cluster</source>
        <translation>클러스터에 작업 제출</translation>
    </message>
    <message>
        <source>Browse…</source>
        <translation>찾아보기…</translation>
    </message>
    <message>
        <source>e.g. python train.py --epochs 10</source>
        <translation>예: python train.py --epochs 10</translation>
    </message>
    <message>
        <source>any (e.g. a100)</source>
        <translation>아무거나 (예: a100)</translation>
    </message>
    <message>
        <source>paths to bring back, e.g. outputs, logs</source>
        <translation>가져올 경로, 예: outputs, logs</translation>
    </message>
    <message>
        <source>Press “Prepare script” to see the job script; you may edit it.</source>
        <translation>“스크립트 준비”를 누르면 작업 스크립트가 보입니다. 수정할 수 있습니다.</translation>
    </message>
    <message>
        <source>Prepare script</source>
        <translation>스크립트 준비</translation>
    </message>
    <message>
        <source>Submit</source>
        <translation>제출</translation>
    </message>
    <message>
        <source>Close</source>
        <translation>닫기</translation>
    </message>
    <message>
        <source>Cluster:</source>
        <translation>클러스터:</translation>
    </message>
    <message>
        <source>Folder:</source>
        <translation>폴더:</translation>
    </message>
    <message>
        <source>Command:</source>
        <translation>명령:</translation>
    </message>
    <message>
        <source>GPUs:</source>
        <translation>GPU 수:</translation>
    </message>
    <message>
        <source>GPU type:</source>
        <translation>GPU 종류:</translation>
    </message>
    <message>
        <source>Hours:</source>
        <translation>시간:</translation>
    </message>
    <message>
        <source>Results:</source>
        <translation>결과 경로:</translation>
    </message>
    <message>
        <source>Project:</source>
        <translation>프로젝트:</translation>
    </message>
    <message>
        <source>Job script:</source>
        <translation>작업 스크립트:</translation>
    </message>
    <message>
        <source>Folder to send</source>
        <translation>보낼 폴더</translation>
    </message>
    <message>
        <source>Preparing the job script…</source>
        <translation>작업 스크립트를 준비하는 중…</translation>
    </message>
    <message>
        <source>Check the script, edit it if needed, then submit.</source>
        <translation>스크립트를 확인하고 필요하면 고친 뒤 제출하세요.</translation>
    </message>
    <message>
        <source>Sending the folder…</source>
        <translation>폴더를 보내는 중…</translation>
    </message>
    <message>
        <source>Submitted {name} as job {id}.</source>
        <translation>{name}을(를) 작업 {id}(으)로 제출했습니다.</translation>
    </message>
</context>
<context>
    <name>UsagePage</name>
    <message>
        <source>Whole lab</source>
        <extracomment>Asks for a file to save: (title, suggested name, filter) -&gt; path or None. File dialog hook, replaced in tests.</extracomment>
        <translation>연구실 전체</translation>
    </message>
    <message>
        <source>Per server</source>
        <translation>서버별</translation>
    </message>
    <message>
        <source>Per model</source>
        <translation>모델별</translation>
    </message>
    <message>
        <source>Per GPU</source>
        <translation>GPU별</translation>
    </message>
    <message>
        <source>Lines:</source>
        <translation>선 구분:</translation>
    </message>
    <message>
        <source>Booked: GPU-hours booked (requests waiting for approval not counted). Held by a process: time a process of theirs sat on a GPU, busy or not, booked or not; it exceeds Booked when members run without a booking. Booked but idle: booked time in which the GPU computed nothing. Held without a booking: process time outside their own bookings. Members are listed by booked plus process GPU-hours.</source>
        <translation>예약: 예약한 GPU 시간(승인 대기 중인 요청 제외). 프로세스 점유: 구성원의 프로세스가 GPU에 올라가 있던 시간(계산 여부, 예약 여부와 무관). 예약 없이 실행하면 예약보다 커집니다. 예약 후 유휴: 예약한 시간 중 GPU가 아무것도 계산하지 않은 시간. 예약 없이 점유: 자기 예약 밖의 프로세스 시간. 구성원은 예약과 프로세스 GPU 시간의 합이 큰 순서입니다.</translation>
    </message>
    <message>
        <source>GPU-hours</source>
        <translation>GPU 시간</translation>
    </message>
    <message>
        <source>Offloaded GPU-hours</source>
        <translation>외부로 보낸 GPU 시간</translation>
    </message>
    <message>
        <source>No usage recorded in this range yet — the collector rolls samples up every minute.</source>
        <translation>이 기간에는 아직 사용 기록이 없습니다 — 수집기가 1분마다 측정값을 집계합니다.</translation>
    </message>
    <message>
        <source>No member booked or used a GPU in this range.</source>
        <translation>이 기간에 GPU를 예약하거나 사용한 구성원이 없습니다.</translation>
    </message>
    <message>
        <source>No job was offloaded to a cluster in this range.</source>
        <translation>이 기간에 클러스터로 보낸 작업이 없습니다.</translation>
    </message>
    <message>
        <source>Utilisation</source>
        <translation>사용률</translation>
    </message>
    <message>
        <source>Heatmap</source>
        <translation>히트맵</translation>
    </message>
    <message>
        <source>Members</source>
        <translation>구성원</translation>
    </message>
    <message>
        <source>Unmet demand</source>
        <translation>미충족 수요</translation>
    </message>
    <message>
        <source>Offloaded</source>
        <translation>클러스터 작업</translation>
    </message>
    <message>
        <source>Saturation and waits</source>
        <translation>포화와 대기</translation>
    </message>
    <message>
        <source>No requests or usage.</source>
        <translation>요청도 사용도 없습니다.</translation>
    </message>
    <message>
        <source>Projects</source>
        <translation>프로젝트</translation>
    </message>
    <message>
        <source>Save graph as PNG…</source>
        <translation>그래프를 PNG로 저장…</translation>
    </message>
    <message>
        <source>Save data as CSV…</source>
        <translation>데이터를 CSV로 저장…</translation>
    </message>
    <message>
        <source>Monthly report…</source>
        <translation>월간 보고서…</translation>
    </message>
    <message>
        <source>A PDF of one month for the PI (Ctrl+R)</source>
        <translation>지도교수용 한 달 PDF 보고서 (Ctrl+R)</translation>
    </message>
    <message>
        <source>Drag to pan, wheel to zoom, right-click for more; Ctrl+E / Ctrl+Shift+E save.</source>
        <translation>끌어서 이동, 휠로 확대/축소, 오른쪽 클릭으로 더 보기; Ctrl+E / Ctrl+Shift+E로 저장.</translation>
    </message>
    <message>
        <source>The first day must not be after the last day.</source>
        <translation>시작일이 종료일보다 늦을 수 없습니다.</translation>
    </message>
    <message>
        <source>Booked</source>
        <translation>예약</translation>
    </message>
    <message>
        <source>Held by a process</source>
        <translation>프로세스 점유</translation>
    </message>
    <message>
        <source>Booked but idle</source>
        <translation>예약 후 유휴</translation>
    </message>
    <message>
        <source>Held without a booking</source>
        <translation>예약 없이 점유</translation>
    </message>
    <message>
        <source>The range has not begun: there is nothing to count yet.</source>
        <translation>기간이 아직 시작되지 않았습니다: 셀 것이 없습니다.</translation>
    </message>
    <message>
        <source>The range runs into the future: figures count up to now ({now}).</source>
        <translation>기간이 미래까지 이어집니다: 수치는 지금({now})까지 셉니다.</translation>
    </message>
    <message>
        <source>No usage history is kept yet.</source>
        <translation>아직 저장된 사용 기록이 없습니다.</translation>
    </message>
    <message>
        <source>Usage history starts {day}: nothing is known of this range.</source>
        <translation>사용 기록은 {day}부터 있습니다: 이 기간에 대해서는 알 수 없습니다.</translation>
    </message>
    <message>
        <source>Usage history starts {day}: nothing is known of the time before.</source>
        <translation>사용 기록은 {day}부터 있습니다: 그 전의 일은 알 수 없습니다.</translation>
    </message>
    <message>
        <source>{start} – {end}: no GPU readings.</source>
        <translation>{start} – {end}: GPU 측정값이 없습니다.</translation>
    </message>
    <message>
        <source>{start} – {end}: {busy_pct} % of {observed} observed GPU-hours busy, mean utilisation {util} %; {booked} GPU-hours booked, {offloaded} GPU-hours offloaded; requests with no free GPUs when wanted: {unmet}, refused by a rule: {refused}.</source>
        <translation>{start} – {end}: 측정된 {observed} GPU 시간 중 {busy_pct} % 사용 중, 평균 사용률 {util} %; {booked} GPU 시간 예약, {offloaded} GPU 시간 외부 전송; 원하는 시각에 빈 GPU가 없던 요청: {unmet}건, 규칙으로 거절: {refused}건.</translation>
    </message>
    <message>
        <source>Save graph as PNG</source>
        <translation>그래프를 PNG로 저장</translation>
    </message>
    <message>
        <source>PNG image (*.png)</source>
        <translation>PNG 이미지 (*.png)</translation>
    </message>
    <message>
        <source>Save data as CSV</source>
        <translation>데이터를 CSV로 저장</translation>
    </message>
    <message>
        <source>CSV file (*.csv)</source>
        <translation>CSV 파일 (*.csv)</translation>
    </message>
    <message>
        <source>Could not write {path}; choose another folder.</source>
        <translation>{path}에 쓸 수 없습니다. 다른 폴더를 선택하세요.</translation>
    </message>
    <message>
        <source>Saved the graph to {path}.</source>
        <translation>그래프를 {path}에 저장했습니다.</translation>
    </message>
    <message>
        <source>Could not write {path}: {reason}</source>
        <translation>{path}에 쓸 수 없습니다: {reason}</translation>
    </message>
    <message>
        <source>Saved {count} rows to {path}.</source>
        <translation>{count}개 행을 {path}에 저장했습니다.</translation>
    </message>
</context>
<context>
    <name>UsageReport</name>
    <message>
        <source>{month} (in progress, up to now)</source>
        <translation>{month} (진행 중, 지금까지)</translation>
    </message>
    <message>
        <source>Monthly report</source>
        <translation>월간 보고서</translation>
    </message>
    <message>
        <source>Month:</source>
        <translation>월:</translation>
    </message>
    <message>
        <source>Save monthly report</source>
        <translation>월간 보고서 저장</translation>
    </message>
    <message>
        <source>PDF document (*.pdf)</source>
        <translation>PDF 문서 (*.pdf)</translation>
    </message>
    <message>
        <source>Wrote the {month} report ({pages} pages) to {path}.</source>
        <translation>{month} 보고서({pages}쪽)를 {path}에 저장했습니다.</translation>
    </message>
</context>
<context>
    <name>UseDialog</name>
    <message>
        <source>Use booking</source>
        <extracomment>The text of each line shown, in order (ssh, export, ssh, export, ...), for tests.</extracomment>
        <translation>예약 사용</translation>
    </message>
    <message>
        <source>Reading the booking…</source>
        <translation>예약을 읽는 중…</translation>
    </message>
    <message>
        <source>Log in with the first line, then run the second on the server before your job: CUDA then sees exactly the booked GPUs, named by their uuids.</source>
        <translation>첫 줄로 로그인한 뒤, 작업 전에 서버에서 둘째 줄을 실행하세요: 그러면 CUDA가 uuid로 지정된 예약한 GPU만 정확히 봅니다.</translation>
    </message>
    <message>
        <source>This booking cannot be used.</source>
        <translation>이 예약은 사용할 수 없습니다.</translation>
    </message>
    <message>
        <source>Booking of {user}, {when}</source>
        <translation>{user}의 예약, {when}</translation>
    </message>
    <message>
        <source>{server} ({gpus})</source>
        <translation>{server} ({gpus})</translation>
    </message>
    <message>
        <source>Copy</source>
        <translation>복사</translation>
    </message>
    <message>
        <source>Copied</source>
        <translation>복사됨</translation>
    </message>
</context>
<context>
    <name>UtilisationChart</name>
    <message>
        <source>Mean utilisation (%)</source>
        <extracomment>Line and bar colours (Okabe–Ito, readable by most colour-blind people); more lines get hues. The legend's columns (above the plots); the tooltip lists this many groups, busiest first. Bar charts with more categories than this stagger their labels on two lines.</extracomment>
        <translation>평균 사용률 (%)</translation>
    </message>
    <message>
        <source>Busy GPUs</source>
        <translation>사용 중인 GPU</translation>
    </message>
    <message>
        <source>all GPUs</source>
        <translation>전체 GPU</translation>
    </message>
    <message>
        <source>GPUs busy (% of the model's)</source>
        <translation>사용 중인 GPU (모델 대비 %)</translation>
    </message>
    <message>
        <source>{label}: {util} % utilisation, {share} % of its GPUs busy</source>
        <translation>{label}: 사용률 {util} %, GPU의 {share} % 사용 중</translation>
    </message>
    <message>
        <source>{label}: {util} % utilisation, {busy} busy GPUs</source>
        <translation>{label}: 사용률 {util} %, 사용 중 GPU {busy}개</translation>
    </message>
    <message>
        <source>… and {count} more</source>
        <translation>… 외 {count}개</translation>
    </message>
</context>
<context>
    <name>WelcomeWidget</name>
    <message>
        <source>Welcome to labgpu</source>
        <translation>labgpu에 오신 것을 환영합니다</translation>
    </message>
    <message>
        <source>labgpu shows every GPU of your lab, live: who uses which GPU, how busy it is, and which ones are free.

Start by adding a GPU server. labgpu connects to it over SSH, finds its GPUs with nvidia-smi and keeps watching them. Or look around a simulated lab first.</source>
        <translation>labgpu는 연구실의 모든 GPU를 실시간으로 보여 줍니다. 누가 어떤 GPU를 쓰는지, 얼마나 바쁜지, 어떤 GPU가 비어 있는지 한눈에 볼 수 있습니다.

먼저 GPU 서버를 추가하세요. labgpu가 SSH로 접속해 nvidia-smi로 GPU를 찾고 계속 지켜봅니다. 시뮬레이션 연구실을 먼저 둘러볼 수도 있습니다.</translation>
    </message>
    <message>
        <source>Try the demo lab</source>
        <translation>데모 연구실 둘러보기</translation>
    </message>
    <message>
        <source>Open a second window on a simulated lab with bookings and history</source>
        <translation>예약과 기록이 있는 시뮬레이션 연구실을 새 창으로 엽니다</translation>
    </message>
    <message>
        <source>Add a server…</source>
        <translation>서버 추가…</translation>
    </message>
</context>
<context>
    <name>WhatIfDialog</name>
    <message>
        <source>What if…</source>
        <extracomment>The table's rows: the field of ``Figures`` and whether it is hours.</extracomment>
        <translation>가정 분석…</translation>
    </message>
    <message>
        <source>Replay this period's slot requests with GPUs added or removed</source>
        <translation>이 기간의 빈 시간 요청을 GPU를 더하거나 빼서 다시 재현합니다</translation>
    </message>
    <message>
        <source>What more GPUs would have changed</source>
        <translation>GPU가 더 있었다면 달라졌을 것</translation>
    </message>
    <message>
        <source>The slot requests asked from {start} to {end}, replayed in their order through the lab's own slot search and rules on the lab with GPUs added or removed.</source>
        <translation>{start}부터 {end}까지 들어온 빈 시간 요청을, GPU를 더하거나 뺀 연구실에서 연구실의 빈 시간 찾기와 규칙으로 순서대로 재현합니다.</translation>
    </message>
    <message>
        <source>Run</source>
        <translation>실행</translation>
    </message>
    <message>
        <source>Change:</source>
        <translation>변경:</translation>
    </message>
    <message>
        <source>requests the lab answered (rule refusals apart)</source>
        <translation>연구실이 답한 요청 (규칙 거절 제외)</translation>
    </message>
    <message>
        <source>of them, with no slot within the booking horizon</source>
        <translation>그중 예약 가능 기간 안에 빈 시간이 없던 요청</translation>
    </message>
    <message>
        <source>median wait, hours (requests with a slot)</source>
        <translation>대기 시간 중앙값, 시간 (빈 시간이 있던 요청)</translation>
    </message>
    <message>
        <source>90th percentile wait, hours</source>
        <translation>대기 시간 90번째 백분위수, 시간</translation>
    </message>
    <message>
        <source>unmet: no slot within 30 minutes of the wanted start</source>
        <translation>미충족: 원하는 시작 30분 안에 빈 시간 없음</translation>
    </message>
    <message>
        <source>unmet GPU-hours</source>
        <translation>미충족 GPU 시간</translation>
    </message>
    <message>
        <source>GPU-hours sent to clusters</source>
        <translation>클러스터로 보낸 GPU 시간</translation>
    </message>
    <message>
        <source>GPU-hours that would have stayed home</source>
        <translation>연구실에 남았을 GPU 시간</translation>
    </message>
    <message>
        <source>What happened</source>
        <translation>실제</translation>
    </message>
    <message>
        <source>Replayed as is</source>
        <translation>그대로 재현</translation>
    </message>
    <message>
        <source>With the change</source>
        <translation>변경 후</translation>
    </message>
    <message>
        <source>{change}: {before} → {after} GPUs</source>
        <translation>{change}: GPU {before} → {after}개</translation>
    </message>
    <message>
        <source>No change: the lab replayed as it is ({n} GPUs)</source>
        <translation>변경 없음: 연구실을 그대로 재현했습니다 (GPU {n}개)</translation>
    </message>
    <message>
        <source>“Replayed as is” is the replay without the change: where it differs from what happened, the replay could not know something (a server down, unbooked use).</source>
        <translation>“그대로 재현”은 변경 없이 다시 돌려 본 결과입니다. 실제와 다른 곳은 재현이 알 수 없었던 일(서버 중단, 예약 없는 사용)이 있었던 곳입니다.</translation>
    </message>
    <message>
        <source>{n} requests the replay could not reproduce (it answered them worse than the lab did) keep what really happened in “With the change”, unless the change serves them sooner.</source>
        <translation>재현이 실제보다 나쁘게 답한 요청 {n}건은 “변경 적용” 열에서 실제 결과를 유지합니다. 변경으로 더 빨리 처리되는 경우는 예외입니다.</translation>
    </message>
    <message>
        <source>{n} requests the replay could not reproduce (it answered them worse than the lab did): with GPUs removed, their figures are the replay's.</source>
        <translation>재현이 실제보다 나쁘게 답한 요청 {n}건: GPU를 줄인 경우 이 요청들의 수치는 재현 결과입니다.</translation>
    </message>
    <message>
        <source>With GPUs added a request only moves to time nobody else's slot needs: no wait grows, none exceeds what really happened; the figures are what the GPUs would at least have changed.</source>
        <translation>GPU를 추가하면 요청은 다른 누구의 빈 시간도 필요로 하지 않는 시간으로만 옮겨집니다. 어떤 대기도 늘지 않고 실제보다 길어지지도 않으며, 수치는 그 GPU가 적어도 바꾸었을 만큼입니다.</translation>
    </message>
    <message>
        <source>Not counted: requests a lab rule refused or held back ({n}).</source>
        <translation>제외: 연구실 규칙이 거절하거나 보류한 요청 ({n}).</translation>
    </message>
</context>
<context>
    <name>WhereToRunDialog</name>
    <message>
        <source>now</source>
        <translation>지금</translation>
    </message>
    <message>
        <source>Submit job</source>
        <translation>작업 제출</translation>
    </message>
    <message>
        <source>Browse…</source>
        <translation>찾아보기…</translation>
    </message>
    <message>
        <source>e.g. python train.py --epochs 10</source>
        <translation>예: python train.py --epochs 10</translation>
    </message>
    <message>
        <source>any model</source>
        <translation>모든 모델</translation>
    </message>
    <message>
        <source>on a cluster: any (e.g. a100)</source>
        <translation>클러스터: 아무거나 (예: a100)</translation>
    </message>
    <message>
        <source>paths to bring back, e.g. outputs, logs</source>
        <translation>가져올 경로, 예: outputs, logs</translation>
    </message>
    <message>
        <source>Where</source>
        <translation>위치</translation>
    </message>
    <message>
        <source>Starts</source>
        <translation>시작</translation>
    </message>
    <message>
        <source>Details</source>
        <translation>세부 정보</translation>
    </message>
    <message>
        <source>Compare</source>
        <translation>비교</translation>
    </message>
    <message>
        <source>Run there</source>
        <translation>그곳에서 실행</translation>
    </message>
    <message>
        <source>Close</source>
        <translation>닫기</translation>
    </message>
    <message>
        <source>Folder:</source>
        <translation>폴더:</translation>
    </message>
    <message>
        <source>Command:</source>
        <translation>명령:</translation>
    </message>
    <message>
        <source>GPUs:</source>
        <translation>GPU 수:</translation>
    </message>
    <message>
        <source>Lab model:</source>
        <translation>연구실 모델:</translation>
    </message>
    <message>
        <source>Cluster GPU type:</source>
        <translation>클러스터 GPU 종류:</translation>
    </message>
    <message>
        <source>Hours:</source>
        <translation>시간:</translation>
    </message>
    <message>
        <source>Results:</source>
        <translation>결과:</translation>
    </message>
    <message>
        <source>Folder to send</source>
        <translation>보낼 폴더</translation>
    </message>
    <message>
        <source>Give the command to run.</source>
        <translation>실행할 명령을 입력하세요.</translation>
    </message>
    <message>
        <source>Asking the lab and the clusters…</source>
        <translation>연구실과 클러스터에 묻는 중…</translation>
    </message>
    <message>
        <source>The form changed meanwhile; compare again.</source>
        <translation>그 사이 입력이 바뀌었습니다. 다시 비교하세요.</translation>
    </message>
    <message>
        <source>lab</source>
        <translation>연구실</translation>
    </message>
    <message>
        <source>Earliest start first; pick one and Run there.</source>
        <translation>가장 빨리 시작하는 곳이 먼저입니다. 하나를 골라 "그곳에서 실행"을 누르세요.</translation>
    </message>
    <message>
        <source>Booking the GPUs and starting the job…</source>
        <translation>GPU를 예약하고 작업을 시작하는 중…</translation>
    </message>
</context>
<context>
    <name>_Row</name>
    <message>
        <source>Dismiss</source>
        <translation>지우기</translation>
    </message>
</context>
<context>
    <name>app</name>
    <message>
        <source>labgpu cannot start</source>
        <translation>labgpu를 시작할 수 없습니다</translation>
    </message>
    <message>
        <source>Database too new</source>
        <translation>데이터베이스가 더 최신입니다</translation>
    </message>
    <message>
        <source>Cannot open the database</source>
        <translation>데이터베이스를 열 수 없습니다</translation>
    </message>
</context>
<context>
    <name>booking_changes</name>
    <message>
        <source>Cancel {holder}'s booking</source>
        <translation>{holder}의 예약 취소</translation>
    </message>
    <message>
        <source>Cancel {holder}'s booking of {gpus} ({when})?</source>
        <translation>{holder}의 {gpus} 예약({when})을 취소할까요?</translation>
    </message>
    <message>
        <source>End {holder}'s booking</source>
        <translation>{holder}의 예약 종료</translation>
    </message>
    <message>
        <source>End {holder}'s booking of {gpus} now and free the GPUs?</source>
        <translation>{holder}의 {gpus} 예약을 지금 끝내고 GPU를 비울까요?</translation>
    </message>
    <message>
        <source>Extend {holder}'s booking</source>
        <translation>{holder}의 예약 연장</translation>
    </message>
    <message>
        <source>Extend {holder}'s booking of {gpus} ({when})?</source>
        <translation>{holder}의 {gpus} 예약({when})을 연장할까요?</translation>
    </message>
    <message>
        <source>This booking is {holder}'s, not yours; they are not asked.</source>
        <translation>이 예약은 내 것이 아니라 {holder}의 것이며, 그 사람에게는 묻지 않습니다.</translation>
    </message>
</context>
<context>
    <name>calendar</name>
    <message>
        <source>{caption} (pending)</source>
        <extracomment>Bookings that no longer hold their GPUs: drawn as ghosts, or hidden.</extracomment>
        <translation>{caption} (승인 대기)</translation>
    </message>
    <message>
        <source>{caption} ({status})</source>
        <translation>{caption} ({status})</translation>
    </message>
    <message>
        <source>{caption} (idle)</source>
        <translation>{caption} (유휴)</translation>
    </message>
    <message>
        <source>{caption}  ⚠ {other} runs here</source>
        <translation>{caption}  ⚠ {other} 사용 중</translation>
    </message>
    <message>
        <source>{user} on {gpu}
{start} – {end}
{status}
{note}</source>
        <translation>{user} · {gpu}
{start} – {end}
{status}
{note}</translation>
    </message>
    <message>
        <source>pending approval</source>
        <translation>승인 대기</translation>
    </message>
    <message>
        <source>booked</source>
        <translation>예약됨</translation>
    </message>
    <message>
        <source>active</source>
        <translation>사용 중</translation>
    </message>
    <message>
        <source>finished</source>
        <translation>끝남</translation>
    </message>
    <message>
        <source>cancelled</source>
        <translation>취소됨</translation>
    </message>
    <message>
        <source>released</source>
        <translation>반납됨</translation>
    </message>
    <message>
        <source>Use…</source>
        <translation>사용…</translation>
    </message>
    <message>
        <source>Run on this booking…</source>
        <translation>이 예약에서 실행…</translation>
    </message>
    <message>
        <source>Extend…</source>
        <translation>연장…</translation>
    </message>
    <message>
        <source>End now…</source>
        <translation>지금 종료…</translation>
    </message>
    <message>
        <source>Cancel booking…</source>
        <translation>예약 취소…</translation>
    </message>
</context>
<context>
    <name>errors</name>
    <message>
        <source>labgpu: unexpected error</source>
        <extracomment>The label property holding the message of the last failed load (see ``report_load``). Crash dialogs without a parent window, kept until closed (Python would delete them at once).</extracomment>
        <translation>labgpu: 예기치 않은 오류</translation>
    </message>
    <message>
        <source>Something went wrong inside labgpu: {error}. The details below are also in the log file {path}; please send them to whoever maintains labgpu in your lab.</source>
        <translation>labgpu 내부에서 문제가 생겼습니다: {error}. 아래 자세한 내용은 로그 파일 {path}에도 남아 있습니다. 연구실에서 labgpu를 관리하는 사람에게 보내 주세요.</translation>
    </message>
</context>
<context>
    <name>live</name>
    <message>
        <source>owner unknown (container {name})</source>
        <extracomment>(group id, GPU id) of a booking held now → who else runs on that GPU.
----------
How far ahead the Live view looks for a booking that ends a GPU's "free" ("free until 07:00").</extracomment>
        <translation>소유자 알 수 없음 (컨테이너 {name})</translation>
    </message>
</context>
<context>
    <name>report</name>
    <message>
        <source>labgpu · {lab} · {month} · page {page}</source>
        <translation>labgpu · {lab} · {month} · {page}쪽</translation>
    </message>
    <message>
        <source>GPU usage report {month}</source>
        <translation>GPU 사용 보고서 {month}</translation>
    </message>
    <message>
        <source>{lab} · {start} to {end} · generated {now}</source>
        <translation>{lab} · {start} ~ {end} · {now} 작성</translation>
    </message>
    <message>
        <source>The month in GPU-hours</source>
        <translation>이달의 GPU 시간</translation>
    </message>
    <message>
        <source>Busy share of observed GPU-time</source>
        <translation>측정된 GPU 시간 중 사용 중 비율</translation>
    </message>
    <message>
        <source>Booked GPU-h (share of capacity)</source>
        <translation>예약 GPU 시간 (용량 대비 비율)</translation>
    </message>
    <message>
        <source>Run on clusters (GPU-h, jobs)</source>
        <translation>클러스터에서 실행 (GPU 시간, 작업 수)</translation>
    </message>
    <message>
        <source>… booked later / clusters / none</source>
        <translation>… 나중 예약 / 클러스터 / 미제공</translation>
    </message>
    <message>
        <source>Busy share</source>
        <translation>사용 중 비율</translation>
    </message>
    <message>
        <source>Booked GPU-h</source>
        <translation>예약 GPU 시간</translation>
    </message>
    <message>
        <source>Unmet GPU-h</source>
        <translation>미충족 GPU 시간</translation>
    </message>
    <message>
        <source>Cluster GPU-h</source>
        <translation>클러스터 GPU 시간</translation>
    </message>
    <message>
        <source>Project</source>
        <translation>프로젝트</translation>
    </message>
    <message>
        <source>Used</source>
        <translation>사용</translation>
    </message>
    <message>
        <source>{h} GPU-h booked would have cost {money} in the cloud</source>
        <translation>예약한 {h} GPU 시간은 클라우드에서 {money}이(가) 들었을 것입니다</translation>
    </message>
    <message>
        <source>{h} GPU-h run on clusters cost {money} at the cluster rate</source>
        <translation>클러스터에서 실행한 {h} GPU 시간은 클러스터 요금으로 {money}이(가) 들었습니다</translation>
    </message>
    <message>
        <source>{h} GPU-h run on clusters have no cluster rate set</source>
        <translation>클러스터에서 실행한 {h} GPU 시간은 클러스터 요금이 정해지지 않았습니다</translation>
    </message>
    <message>
        <source>{n} more GPU(s) would pay for themselves in {months:.1f} months of such use (the {h} GPU-h asked that the lab did not serve, sent to clusters or unserved, valued at the cloud price)</source>
        <translation>GPU {n}개를 더 사면 이런 사용으로 {months:.1f}개월 만에 비용을 회수합니다 (연구실이 제공하지 못해 클러스터로 보냈거나 제공되지 않은 {h} GPU 시간을 클라우드 가격으로 계산)</translation>
    </message>
    <message>
        <source>{h} GPU-h run on clusters name no GPU model and are not priced.</source>
        <translation>클러스터에서 실행한 {h} GPU 시간은 GPU 모델이 없어 가격을 매기지 않았습니다.</translation>
    </message>
    <message>
        <source>The month</source>
        <translation>이달</translation>
    </message>
    <message>
        <source>Figure</source>
        <translation>항목</translation>
    </message>
    <message>
        <source>Value</source>
        <translation>값</translation>
    </message>
    <message>
        <source>Against earlier months</source>
        <translation>지난달들과 비교</translation>
    </message>
    <message>
        <source>Per GPU model</source>
        <translation>GPU 모델별</translation>
    </message>
    <message>
        <source>Busy</source>
        <translation>사용 중</translation>
    </message>
    <message>
        <source>Saturated</source>
        <translation>포화</translation>
    </message>
    <message>
        <source>Requests</source>
        <translation>요청</translation>
    </message>
    <message>
        <source>Median wait</source>
        <translation>대기 중앙값</translation>
    </message>
    <message>
        <source>p90 wait</source>
        <translation>대기 p90</translation>
    </message>
    <message>
        <source>Unserved</source>
        <translation>제공되지 않음</translation>
    </message>
    <message>
        <source>Asked, no GPUs in time (GPU-h)</source>
        <translation>요청했으나 제때 GPU 없음 (GPU 시간)</translation>
    </message>
    <message>
        <source>Busy: share of the GPU-time with readings that a GPU computed. Saturated: share of hours in which every bookable GPU of the model was booked or busy. Wait: the earliest start the lab offered minus the start asked for (median, 90th percentile; requests with no slot within the horizon not in them). Unserved: GPU-hours asked for with no GPUs within 30 minutes of the wanted start that the member neither booked later nor sent to a cluster; Offloaded: GPU-hours of such requests the member sent to a cluster instead.</source>
        <translation>사용 중: 측정값이 있는 GPU 시간 중 GPU가 계산한 비율. 포화: 그 모델의 예약 가능한 모든 GPU가 예약되었거나 사용 중이던 시간의 비율. 대기: 연구실이 제시한 가장 빠른 시작에서 요청한 시작을 뺀 시간 (중앙값, 90번째 백분위수; 탐색 기간 안에 빈 시간이 없던 요청은 제외). 제공되지 않음: 원하는 시작 30분 안에 GPU가 없었고, 구성원이 나중에 예약하지도 클러스터로 보내지도 않은 요청 GPU 시간. 외부 전송: 그런 요청 중 구성원이 대신 클러스터로 보낸 GPU 시간.</translation>
    </message>
    <message>
        <source>GPU-h run</source>
        <translation>실행한 GPU 시간</translation>
    </message>
    <message>
        <source>Median queue wait</source>
        <translation>큐 대기 중앙값</translation>
    </message>
    <message>
        <source>p90 queue wait</source>
        <translation>큐 대기 p90</translation>
    </message>
    <message>
        <source>Median turnaround</source>
        <translation>처리 시간 중앙값</translation>
    </message>
    <message>
        <source>Twelve months</source>
        <translation>열두 달</translation>
    </message>
    <message>
        <source>Unmet GPU-h asked</source>
        <translation>요청한 미충족 GPU 시간</translation>
    </message>
    <message>
        <source>GPU-h run on clusters</source>
        <translation>클러스터에서 실행한 GPU 시간</translation>
    </message>
    <message>
        <source>Busy share (%)</source>
        <translation>사용 중 비율 (%)</translation>
    </message>
    <message>
        <source>Projects (GPU-hours)</source>
        <translation>프로젝트 (GPU 시간)</translation>
    </message>
    <message>
        <source>{n} more projects: see `labgpu usage --by project`</source>
        <translation>프로젝트 {n}개 더: `labgpu usage --by project`를 보세요</translation>
    </message>
    <message>
        <source>No GPU-hours named a project.</source>
        <translation>프로젝트를 지정한 GPU 시간이 없습니다.</translation>
    </message>
    <message>
        <source>Cost</source>
        <translation>비용</translation>
    </message>
    <message>
        <source>Busy GPUs over the month</source>
        <translation>이달의 사용 중 GPU 수</translation>
    </message>
    <message>
        <source>Month in progress: the figures count up to {now}, not the whole month.</source>
        <translation>진행 중인 달: 수치는 달 전체가 아니라 {now}까지 셉니다.</translation>
    </message>
    <message>
        <source>No usage history is kept yet.</source>
        <translation>아직 저장된 사용 기록이 없습니다.</translation>
    </message>
    <message>
        <source>Usage history starts {day}: nothing is known of this month.</source>
        <translation>사용 기록은 {day}부터 있습니다: 이 달에 대해서는 알 수 없습니다.</translation>
    </message>
    <message>
        <source>Usage history starts {day}: nothing is known of the time before.</source>
        <translation>사용 기록은 {day}부터 있습니다: 그 전의 일은 알 수 없습니다.</translation>
    </message>
    <message>
        <source>GPUs</source>
        <extracomment>Months in the trend chart, the report's own last. Projects listed on the page (the busiest first; the CLI has them all).</extracomment>
        <translation>GPU 수</translation>
    </message>
    <message>
        <source>Capacity (GPU-h)</source>
        <translation>총 용량 (GPU 시간)</translation>
    </message>
    <message>
        <source>Observed (GPU-h with readings)</source>
        <translation>측정됨 (측정값이 있는 GPU 시간)</translation>
    </message>
    <message>
        <source>Busy (GPU-h, share of observed)</source>
        <translation>사용 중 (GPU 시간, 측정 대비 비율)</translation>
    </message>
    <message>
        <source>Mean utilisation</source>
        <translation>평균 사용률</translation>
    </message>
    <message>
        <source>Booked (GPU-h)</source>
        <translation>예약 (GPU 시간)</translation>
    </message>
    <message>
        <source>Unmet: no free GPUs when wanted (requests, GPU-h)</source>
        <translation>미충족: 원하는 시각에 빈 GPU 없음 (요청 수, GPU 시간)</translation>
    </message>
    <message>
        <source>GPUs in use</source>
        <translation>사용 중인 GPU</translation>
    </message>
    <message>
        <source>GPUs reporting</source>
        <translation>측정값을 보낸 GPU</translation>
    </message>
    <message>
        <source>No readings were recorded this month.</source>
        <translation>이달에 기록된 측정값이 없습니다.</translation>
    </message>
    <message>
        <source>Utilisation of each GPU</source>
        <translation>GPU별 사용률</translation>
    </message>
    <message>
        <source>booked</source>
        <translation>예약됨</translation>
    </message>
    <message>
        <source>Nothing recorded this month.</source>
        <translation>이달에 기록된 내용이 없습니다.</translation>
    </message>
    <message>
        <source>Member</source>
        <translation>구성원</translation>
    </message>
    <message>
        <source>Booked</source>
        <translation>예약</translation>
    </message>
    <message>
        <source>Booked: GPU-hours booked (requests waiting for approval not counted). Process: time a process of theirs sat on a GPU, busy or not, booked or not (it exceeds Booked when members run without a booking). Idle booked: booked time the GPU computed nothing. No booking: process time outside their bookings. Offloaded: GPU-hours of their jobs on clusters. Unmet: requests with no free GPUs when wanted. Refused: requests a lab rule turned down. Pending: asked this month, still undecided at its end. Rejected: rejected this month.</source>
        <translation>예약: 예약한 GPU 시간(승인 대기 중인 요청 제외). 프로세스: 구성원의 프로세스가 GPU에 올라가 있던 시간(계산 여부, 예약 여부와 무관; 예약 없이 실행하면 예약보다 커짐). 예약 유휴: 예약 중 GPU가 계산하지 않은 시간. 예약 없음: 예약 밖의 프로세스 시간. 외부 전송: 클러스터에서 실행한 작업의 GPU 시간. 미충족: 원하는 시각에 빈 GPU가 없던 요청. 규칙 거절: 연구실 규칙이 거절한 요청. 대기: 이 달에 요청되어 달 말까지 결정되지 않은 요청. 거절: 이 달에 거절된 요청.</translation>
    </message>
    <message>
        <source>Held by members' processes (GPU-h)</source>
        <translation>구성원 프로세스 점유 (GPU 시간)</translation>
    </message>
    <message>
        <source>Booked but idle (GPU-h)</source>
        <translation>예약 후 유휴 (GPU 시간)</translation>
    </message>
    <message>
        <source>Held by a process without a booking (GPU-h)</source>
        <translation>예약 없이 프로세스 점유 (GPU 시간)</translation>
    </message>
    <message>
        <source>Offloaded to clusters (GPU-h, jobs)</source>
        <translation>클러스터로 보냄 (GPU 시간, 작업 수)</translation>
    </message>
    <message>
        <source>Refused by a lab rule</source>
        <translation>연구실 규칙으로 거절</translation>
    </message>
    <message>
        <source>Requests pending at the end / rejected</source>
        <translation>기간 말 대기 / 거절된 요청</translation>
    </message>
    <message>
        <source>Booked and process GPU-hours per member</source>
        <translation>구성원별 예약 및 프로세스 GPU 시간</translation>
    </message>
    <message>
        <source>held by a process</source>
        <translation>프로세스 점유</translation>
    </message>
    <message>
        <source>Process</source>
        <translation>프로세스</translation>
    </message>
    <message>
        <source>Idle booked</source>
        <translation>예약 중 유휴</translation>
    </message>
    <message>
        <source>No booking</source>
        <translation>예약 없이</translation>
    </message>
    <message>
        <source>Offloaded</source>
        <translation>외부 전송</translation>
    </message>
    <message>
        <source>Unmet</source>
        <translation>미충족</translation>
    </message>
    <message>
        <source>Refused</source>
        <translation>규칙 거절</translation>
    </message>
    <message>
        <source>Pending</source>
        <translation>대기</translation>
    </message>
    <message>
        <source>Rejected</source>
        <translation>거절</translation>
    </message>
    <message>
        <source>Members (GPU-hours)</source>
        <translation>구성원 (GPU 시간)</translation>
    </message>
    <message>
        <source>Cluster</source>
        <translation>클러스터</translation>
    </message>
    <message>
        <source>Jobs</source>
        <translation>작업</translation>
    </message>
    <message>
        <source>GPU-hours</source>
        <translation>GPU 시간</translation>
    </message>
    <message>
        <source>Offloaded to clusters</source>
        <translation>클러스터로 보낸 작업</translation>
    </message>
    <message>
        <source>Model</source>
        <translation>모델</translation>
    </message>
    <message>
        <source>Hours</source>
        <translation>시간</translation>
    </message>
    <message>
        <source>Asked</source>
        <translation>요청 시각</translation>
    </message>
    <message>
        <source>Wanted</source>
        <translation>희망 시각</translation>
    </message>
    <message>
        <source>Waited</source>
        <translation>대기 시간</translation>
    </message>
    <message>
        <source>Unmet requests: no free GPUs when wanted</source>
        <translation>미충족 요청: 원하는 시각에 빈 GPU 없음</translation>
    </message>
    <message>
        <source>Requests refused by a lab rule (not missing GPUs)</source>
        <translation>연구실 규칙으로 거절된 요청 (GPU 부족 아님)</translation>
    </message>
    <message>
        <source>Rule</source>
        <translation>규칙</translation>
    </message>
    <message>
        <source>no slot</source>
        <translation>자리 없음</translation>
    </message>
    <message>
        <source>(continued)</source>
        <translation>(계속)</translation>
    </message>
</context>
<context>
    <name>session</name>
    <message>
        <source>student</source>
        <translation>학생</translation>
    </message>
    <message>
        <source>PI</source>
        <translation>지도교수</translation>
    </message>
    <message>
        <source>manager</source>
        <translation>관리자</translation>
    </message>
    <message>
        <source>collector</source>
        <translation>수집기</translation>
    </message>
    <message>
        <source>User: {user}</source>
        <translation>사용자: {user}</translation>
    </message>
    <message>
        <source>Signed in as {user} ({role})</source>
        <translation>{user}(으)로 로그인됨 ({role})</translation>
    </message>
</context>
<context>
    <name>text</name>
    <message>
        <source>waiting for first contact</source>
        <translation>첫 연결 대기 중</translation>
    </message>
    <message>
        <source>online</source>
        <translation>온라인</translation>
    </message>
    <message>
        <source>offline</source>
        <translation>오프라인</translation>
    </message>
    <message>
        <source>login failed</source>
        <translation>로그인 실패</translation>
    </message>
    <message>
        <source>host key not trusted</source>
        <translation>신뢰하지 않은 호스트 키</translation>
    </message>
    <message>
        <source>host key changed</source>
        <translation>호스트 키 바뀜</translation>
    </message>
    <message>
        <source>nvidia-smi failed</source>
        <translation>nvidia-smi 실패</translation>
    </message>
    <message>
        <source>{used} / {total} GiB</source>
        <translation>{used} / {total} GiB</translation>
    </message>
    <message>
        <source>n/a</source>
        <translation>해당 없음</translation>
    </message>
    <message>
        <source>never</source>
        <translation>없음</translation>
    </message>
    <message>
        <source>(exited)</source>
        <translation>(종료됨)</translation>
    </message>
    <message>
        <source>owner unknown (container {name})</source>
        <translation>소유자 알 수 없음 (컨테이너 {name})</translation>
    </message>
    <message>
        <source>{user} (container {name})</source>
        <translation>{user} (컨테이너 {name})</translation>
    </message>
    <message>
        <source>{user}  pid {pid}  {mem} GiB  {command}</source>
        <translation>{user}  pid {pid}  {mem} GiB  {command}</translation>
    </message>
</context>
</TS>