// Every string the page itself writes, in Simplified Chinese and English.
// Messages about rules (refusals, parse errors) are not here: they come from the core or the server,
// already in both languages, and are picked with `pick()`.

const STRINGS = {
  appName: { zh: '人车绑定', en: 'Renche' },
  appTagline: { zh: '绑定非本人机动车 · 处理交通违法', en: 'Bind a vehicle not in your name · handle its violations' },
  langToggle: { zh: 'English', en: '中文' },
  langToggleLabel: { zh: 'Switch to English', en: '切换到中文' },
  skipToContent: { zh: '跳到主要内容', en: 'Skip to main content' },
  loading: { zh: '正在加载…', en: 'Loading…' },
  mainNav: { zh: '主导航', en: 'Main navigation' },
  navVehicles: { zh: '我的车辆', en: 'My vehicles' },
  navBind: { zh: '绑定车辆', en: 'Bind' },
  navViolations: { zh: '交通违法', en: 'Violations' },
  navWindow: { zh: '窗口业务', en: 'Window console' },
  signOut: { zh: '退出登录', en: 'Sign out' },
  accountPhone: { zh: '当前账号:{phone}', en: 'This account: {phone}' },
  signedInAs: { zh: '已登录:{name}', en: 'Signed in: {name}' },
  kioskBadge: { zh: '自助终端', en: 'Self-service kiosk' },
  navKioskLookup: { zh: '查询车辆', en: 'Find a vehicle' },
  kioskSetupTitle: { zh: '设置自助终端', en: 'Set up this kiosk' },
  kioskSetupIntro: { zh: '本机尚未登记为自助终端。请工作人员在窗口业务中用下面的公钥登记本机,再把登记得到的终端编号填在这里。', en: 'This device is not enrolled as a kiosk yet. Staff enrol it in the window console with the public key below, then enter the kiosk number the enrolment gives.' },
  kioskPublicKey: { zh: '本机公钥', en: 'This device’s public key' },
  kioskNumber: { zh: '终端编号', en: 'Kiosk number' },
  kioskNumberHint: { zh: '登记后显示的数字编号', en: 'The number shown after enrolment' },
  kioskSave: { zh: '保存并启用', en: 'Save and start' },
  kioskReady: { zh: '自助终端已启用', en: 'The kiosk is ready' },
  kioskUnsupported: { zh: '此浏览器不支持自助终端所需的签名功能', en: 'This browser cannot sign requests as a kiosk must' },
  kioskSignInTitle: { zh: '刷身份证登录', en: 'Sign in with your ID card' },
  kioskPlaceCard: { zh: '请将身份证放在读卡区', en: 'Place your ID card on the reader' },
  kioskFaceCamera: { zh: '已读取身份证,请正对摄像头进行人脸比对', en: 'Card read. Look into the camera for the face check' },
  kioskNoAccountNeeded: { zh: '无需手机号或账号;离开前请取回身份证。', en: 'No phone or account needed. Take your ID card with you when you leave.' },
  kioskLookupTitle: { zh: '查询车辆违法', en: 'Find a vehicle’s violations' },
  kioskLookupIntro: { zh: '输入号牌和行驶证上的发动机号后六位,查看该车的违法可否在本机办理。', en: 'Enter the plate and the last six characters of the engine number from the vehicle licence to see whether its violations can be handled here.' },
  kioskLookupButton: { zh: '查询', en: 'Find' },
  kioskLookupNotFound: { zh: '未查到该车辆,请核对号牌和发动机号后六位', en: 'No vehicle found; check the plate and the engine-number digits' },
  kioskRelation_owner: { zh: '本人名下车辆', en: 'A vehicle in your name' },
  kioskRelation_binder: { zh: '您已绑定的车辆', en: 'A vehicle you have bound' },
  kioskRelation_none: { zh: '非本人名下、未绑定的车辆', en: 'Neither in your name nor bound by you' },
  kioskNoViolations: { zh: '该车没有待处理的违法', en: 'This vehicle has no violations to deal with' },
  kioskHandled: { zh: '已办理,决定书编号 {number}', en: 'Handled; decision number {number}' },
  devKiosk: { zh: '自助终端设备(开发用)', en: 'Kiosk devices (development)' },
  devCardId: { zh: '身份证号', en: 'ID number' },
  devCardName: { zh: '姓名', en: 'Name' },
  devPlaceCard: { zh: '放置身份证', en: 'Place the card' },
  devFaceMatch: { zh: '人脸一致', en: 'Face matches' },
  devFaceMismatch: { zh: '人脸不一致', en: 'Face does not match' },
  devFaceSet: { zh: '人脸比对结果:{outcome}', en: 'Face check result: {outcome}' },
  kioskEnrolTitle: { zh: '登记自助终端', en: 'Enrol a kiosk' },
  kioskEnrolCity: { zh: '城市代码', en: 'City code' },
  kioskEnrolPlace: { zh: '安放地点', en: 'Where it stands' },
  kioskEnrolKey: { zh: '终端公钥', en: 'The kiosk’s public key' },
  kioskEnrolButton: { zh: '登记', en: 'Enrol' },
  kioskEnrolled: { zh: '已登记,终端编号 {id}', en: 'Enrolled: kiosk number {id}' },
  kioskNumbered: { zh: '{id} 号终端', en: 'Kiosk {id}' },
  kioskEnrolledAt: { zh: '{at} 登记', en: 'Enrolled {at}' },
  kioskDisabledAt: { zh: '{at} 已停用', en: 'Disabled {at}' },
  kioskDisable: { zh: '停用', en: 'Disable' },
  kioskIdle: { zh: '{s} 秒无操作将自动退出', en: 'Signing out after {s} s of inactivity' },
  kioskIdleWarning: { zh: '{s} 秒后将自动退出登录,触摸屏幕可继续办理', en: 'Signing out in {s} s; touch the screen to carry on' },
  kioskSignedOut: { zh: '长时间无操作,已自动退出登录', en: 'Signed out after a period of inactivity' },
  back: { zh: '返回', en: 'Back' },
  retry: { zh: '重试', en: 'Try again' },
  close: { zh: '关闭', en: 'Close' },
  cancel: { zh: '取消', en: 'Cancel' },
  confirm: { zh: '确认', en: 'Confirm' },
  next: { zh: '下一步', en: 'Next' },
  done: { zh: '完成', en: 'Done' },
  required: { zh: '必填', en: 'required' },

  // Errors that are not rule refusals.
  errNetwork: { zh: '网络连接失败,请检查网络后重试', en: 'Could not reach the service; check your connection and try again' },
  errServer: { zh: '服务暂时不可用,请稍后重试', en: 'The service is unavailable right now; please try again later' },
  errCoreLoad: { zh: '页面组件加载失败,请刷新页面', en: 'Part of the page failed to load; please reload' },
  errSessionExpired: { zh: '登录已失效,请重新登录', en: 'Your session has ended; please sign in again' },
  errUnknownPage: { zh: '找不到该页面', en: 'Page not found' },
  goHome: { zh: '回到首页', en: 'Go to the start page' },
  refusedTitle: { zh: '未能办理,原因如下:', en: 'This cannot be done, because:' },

  // Sign in and registration.
  signInTitle: { zh: '登录', en: 'Sign in' },
  signInIntro: { zh: '使用手机号和短信验证码登录。', en: 'Sign in with your mobile number and an SMS code.' },
  phone: { zh: '手机号码', en: 'Mobile number' },
  phoneHint: { zh: '11 位中国大陆手机号', en: '11-digit mainland China mobile number' },
  smsCode: { zh: '短信验证码', en: 'SMS code' },
  smsCodeHint: { zh: '6 位数字', en: '6 digits' },
  sendCode: { zh: '获取验证码', en: 'Send code' },
  resendIn: { zh: '{s} 秒后可重发', en: 'Resend in {s} s' },
  codeSentTo: { zh: '验证码已发送至 {phone}', en: 'Code sent to {phone}' },
  signInButton: { zh: '登录', en: 'Sign in' },
  noAccount: { zh: '还没有账号?', en: 'No account yet?' },
  registerLink: { zh: '注册', en: 'Register' },
  registerTitle: { zh: '注册', en: 'Register' },
  registerIntro: { zh: '注册只需手机号和短信验证码。注册后通过人脸识别确认身份,即可查看名下车辆、驾驶证和记分。', en: 'All you need to register is your mobile number and an SMS code. Afterwards a face check confirms who you are and links the vehicles, licence and points in your name.' },
  fullName: { zh: '姓名', en: 'Full name' },
  residentId: { zh: '居民身份证号码', en: 'Resident ID number' },
  residentIdHint: { zh: '18 位,末位可为 X', en: '18 characters; the last may be X' },
  fullNameHint: { zh: '与居民身份证上的姓名一致', en: 'As on your resident ID card' },
  fullNameMissing: { zh: '请填写姓名', en: 'Enter your name' },
  registerButton: { zh: '注册并登录', en: 'Register and sign in' },
  haveAccount: { zh: '已有账号?', en: 'Already registered?' },
  signInLink: { zh: '去登录', en: 'Sign in' },
  valueLooksRight: { zh: '格式正确:{value}', en: 'Looks right: {value}' },

  // Real-person verification.
  verifyAccountTitle: { zh: '实名认证', en: 'Confirm who you are' },
  verifyAccountIntro: { zh: '填写姓名和居民身份证号码,再通过人脸识别确认是您本人。认证通过后,您名下的车辆、驾驶证和记分会关联到本账号。', en: 'Enter your name and resident ID number; a face check then confirms it is you. Once it passes, the vehicles, driving licence and points in your name are linked to this account.' },
  verifyFaceWhat: { zh: '下一步将打开认证服务的人脸识别页面,需要使用摄像头。', en: 'Next, the verification service’s face check opens; it uses your camera.' },
  verifyFaceStart: { zh: '开始人脸识别', en: 'Start the face check' },
  verifyAlready: { zh: '您已完成实名认证。', en: 'You have already confirmed who you are.' },
  verifyNothingToFinish: { zh: '没有进行中的人脸识别。', en: 'There is no face check to finish.' },
  verifyAgain: { zh: '重新进行人脸识别', en: 'Try the face check again' },
  verifyLinked: { zh: '您名下的车辆、驾驶证和记分已关联到本账号。', en: 'The vehicles, driving licence and points in your name are now linked to this account.' },
  verifyPassed: { zh: '认证通过,确认是您本人', en: 'Verified: it is you' },
  verifyFailed: { zh: '人脸识别未通过', en: 'The face check did not pass' },
  verifyFailedHintAccount: { zh: '可以改由民警人工核验您的身份:', en: 'An officer can confirm who you are instead:' },
  verifyFailedHint: { zh: '您可以申请人工审核。', en: 'You can ask for a manual review.' },
  verifyNoFace: { zh: '没有检测到人脸', en: 'No face was seen' },
  verifyNoFaceHint: { zh: '请在光线充足处正对摄像头,再试一次。', en: 'Face the camera in good light and try again.' },
  verifyUnavailable: { zh: '认证服务暂时不可用', en: 'The face check is not available right now' },
  verifyUnavailableHint: { zh: '请稍后再试,或申请人工审核。', en: 'Try again later, or ask for a manual review.' },
  manualReviewTitle: { zh: '人工审核', en: 'Manual review' },
  manualReviewAccount: { zh: '请携带居民身份证到交警服务窗口,民警核验后为您完成实名认证。', en: 'Bring your resident ID card to a traffic police service window; an officer checks it and confirms your account.' },
  verifyFirstTitle: { zh: '请先完成实名认证', en: 'First, confirm who you are' },
  verifyFirstText: { zh: '通过人脸识别确认身份后,才能查看名下车辆、驾驶证和记分,或绑定他人的车辆。', en: 'Once a face check has confirmed who you are, you can see the vehicles, licence and points in your name and bind someone else’s vehicle.' },
  verifyFirstButton: { zh: '去实名认证', en: 'Confirm who I am' },

  // Development panel.
  devPanel: { zh: '开发调试面板', en: 'Development panel' },
  devPanelIntro: { zh: '仅开发模式可见:短信发件箱、模拟支付。', en: 'Development mode only: the SMS outbox and the payment simulator.' },
  devOutbox: { zh: '短信发件箱', en: 'SMS outbox' },
  devPolicyVersion: { zh: '当前规则版本:{version}', en: 'Policy version in use: {version}' },
  policyCityOpen: { zh: '{city}:已开通绑定非本人机动车', en: '{city}: binding non-owned vehicles is available' },
  policyCityClosed: { zh: '{city}:尚未开通绑定非本人机动车', en: '{city}: binding non-owned vehicles is not available yet' },
  policyNext: { zh: ';{at} 起施行新规则', en: '; new rules from {at}' },
  devOutboxEmpty: { zh: '暂无短信', en: 'No messages yet' },
  devRefresh: { zh: '刷新', en: 'Refresh' },
  devUseCode: { zh: '填入', en: 'Use' },
  devPayment: { zh: '模拟支付结果', en: 'Payment provider outcome' },
  devPaymentSucceed: { zh: '支付成功', en: 'Payments succeed' },
  devPaymentFail: { zh: '支付失败', en: 'Payments fail' },
  devPaymentSet: { zh: '之后的支付将:{outcome}', en: 'Payments from now on: {outcome}' },

  // My vehicles.
  vehiclesTitle: { zh: '我的车辆', en: 'My vehicles' },
  ownedVehicles: { zh: '本人名下机动车', en: 'Vehicles in my name' },
  ownedNone: { zh: '您名下没有机动车。', en: 'No vehicles are registered in your name.' },
  boundVehicles: { zh: '已绑定的非本人机动车', en: 'Bound vehicles not in my name' },
  boundNone: { zh: '您还没有绑定非本人机动车。', en: 'You have not bound any vehicle yet.' },
  boundCount: { zh: '已绑定 {n}/{max} 辆', en: '{n} of {max} bound' },
  boundSince: { zh: '绑定日期:{date}', en: 'Bound on {date}' },
  relationship: { zh: '与车主关系', en: 'Relationship to the owner' },
  binders: { zh: '绑定该车的驾驶人', en: 'People who bound this vehicle' },
  bindersNone: { zh: '暂无他人绑定', en: 'Nobody has bound it' },
  binderCount: { zh: '{n}/{max} 人', en: '{n} of {max}' },
  remove: { zh: '解除绑定', en: 'Remove' },
  removeBinderOf: { zh: '解除绑定:{name},{plate}', en: 'Remove: {name}, {plate}' },
  removeMineOf: { zh: '解除绑定:{plate}', en: 'Remove: {plate}' },
  removeConfirm: { zh: '确定解除对 {plate} 的绑定吗?', en: 'Remove the binding of {plate}?' },
  removeBinderConfirm: { zh: '确定解除 {name} 对 {plate} 的绑定吗?解除后对方将收到通知。', en: 'Remove {name}’s binding of {plate}? They will be told.' },
  notBindable: { zh: '他人不能绑定此车辆:', en: 'Nobody else can bind this vehicle:' },
  removed: { zh: '已解除绑定', en: 'Binding removed' },
  showQr: { zh: '机动车二维码', en: 'Vehicle QR code' },
  showQrFor: { zh: '机动车二维码:{plate}', en: 'Vehicle QR code: {plate}' },
  bindAnother: { zh: '绑定非本人机动车', en: 'Bind a vehicle not in my name' },
  plateTypeLabel: { zh: '号牌种类', en: 'Plate type' },

  // QR code page.
  qrTitle: { zh: '机动车二维码', en: 'Vehicle QR code' },
  qrIntro: { zh: '请对方在“绑定车辆”中扫描此二维码。二维码 3 分钟内有效,只能使用一次。', en: 'Ask the other driver to scan this code under “Bind a vehicle”. It is valid for 3 minutes and works once.' },
  qrExpiresIn: { zh: '剩余有效时间', en: 'Time left' },
  qrExpired: { zh: '二维码已过期,请生成新的二维码', en: 'This code has expired; make a new one' },
  qrUsed: { zh: '二维码已被 {name} 扫描使用,不能再次使用', en: 'This code was used by {name}; it cannot be used again' },
  qrUsedNext: { zh: '对方正在完成绑定,完成后您会收到通知。如需让其他人绑定,请生成新的二维码。', en: 'They are finishing the binding; you will be told when it is done. For someone else, make a new code.' },
  qrNotBindableTitle: { zh: '此车辆不能生成绑定二维码', en: 'This vehicle has no binding QR code' },
  applicationTimeLeft: { zh: '车主的同意有效时间还剩 {time},请在此之前提交', en: 'The owner’s consent holds for {time} more; submit before then' },
  applicationExpired: { zh: '已超过有效时间,请重新扫描车主的二维码或重新获取验证码', en: 'Time is up: scan the owner’s code again or ask for a new SMS code' },
  qrNew: { zh: '生成新二维码', en: 'New code' },
  qrImageLabel: { zh: '{plate} 的绑定二维码', en: 'Binding QR code for {plate}' },
  notifications: { zh: '通知', en: 'Notifications' },

  // Binding.
  bindTitle: { zh: '绑定非本人机动车', en: 'Bind a vehicle not in your name' },
  bindIntro: { zh: '绑定后可处理自绑定之日起发生的、有记分且单笔罚款不超过 200 元的交通违法。', en: 'Once bound, you can handle violations from the binding date on that carry points and whose fine is at most ¥200.' },
  bindChooseMethod: { zh: '选择绑定方式', en: 'Choose how to bind' },
  bindingLimitTitle: { zh: '已达绑定上限', en: 'You are at the limit' },
  bindingLimitText: { zh: '您已绑定 {n} 辆非本人机动车,最多可绑定 {max} 辆。如需绑定其他车辆,请先在“我的车辆”中解除一个绑定。', en: 'You have bound {n} vehicles not in your name, the most allowed is {max}. To bind another, first remove one under “My vehicles”.' },
  bindingLimitLeft: { zh: '您已绑定 {n} 辆,还可绑定 {left} 辆。', en: 'You have bound {n}; you can bind {left} more.' },
  bindByScan: { zh: '扫码绑定', en: 'Scan the owner’s QR code' },
  bindByScanHint: { zh: '车主在其交管账号中生成二维码,您扫描', en: 'The owner shows a code from their account; you scan it' },
  bindBySms: { zh: '短信验证绑定', en: 'SMS code to the owner' },
  bindBySmsHint: { zh: '输入号牌和发动机号后六位,车主手机收验证码', en: 'Enter the plate and engine suffix; the owner’s phone gets a code' },
  scanTitle: { zh: '扫码绑定', en: 'Scan binding' },
  scanCamera: { zh: '打开摄像头扫码', en: 'Scan with the camera' },
  scanStopCamera: { zh: '关闭摄像头', en: 'Stop the camera' },
  scanPickFile: { zh: '从相册选择二维码图片', en: 'Pick a picture of the code' },
  scanLooking: { zh: '请将二维码对准取景框…', en: 'Point the camera at the code…' },
  scanNoCamera: { zh: '无法使用摄像头,请选择二维码图片', en: 'The camera is not available; pick a picture of the code instead' },
  scanNoCode: { zh: '图片中没有识别到二维码,请换一张清晰的图片', en: 'No QR code was found in the picture; try a clearer one' },
  scanFound: { zh: '已识别二维码', en: 'Code recognised' },
  scanPlate: { zh: '待绑定车辆:{plate}', en: 'Vehicle to bind: {plate}' },
  scanCodeExpiresIn: { zh: '二维码剩余 {time}', en: 'Code valid for {time}' },
  scanChooseRelationship: { zh: '请选择您与车主的关系', en: 'Choose your relationship to the owner' },
  verifyTitle: { zh: '实人认证', en: 'Real-person verification' },
  verifyIntro: { zh: '提交前需要通过人脸识别确认是您本人操作。将打开认证服务的页面并使用摄像头,完成后自动回到这里提交。', en: 'Before it is submitted, a face check confirms that it is really you. The verification service’s page opens and uses your camera; afterwards you come back here and the application is submitted.' },
  verifyStart: { zh: '人脸识别并提交', en: 'Face check and submit' },
  bindCannotSubmit: { zh: '因以上原因,该车辆不能绑定,无需提交。', en: 'For the reasons above this vehicle cannot be bound, so there is nothing to submit.' },
  bindSubmitting: { zh: '认证通过,正在提交绑定申请…', en: 'Verified; submitting the binding application…' },
  bindNothingToFinish: { zh: '没有待提交的绑定申请,请重新办理。', en: 'There is no binding application waiting to be submitted; please start again.' },
  vehicleToBind: { zh: '待绑定车辆', en: 'Vehicle to bind' },
  ownerCodeSentNoPhone: { zh: '如号牌与发动机号匹配,验证码已发送至车主登记的手机', en: 'If the plate and engine number match, a code was sent to the owner’s registered phone' },
  askManualReview: { zh: '申请人工审核', en: 'Ask for manual review' },
  manualReviewRequested: { zh: '已提交人工审核,民警将在 1 个工作日内审核', en: 'Sent for manual review; an officer will look at it within one working day' },
  bindingDone: { zh: '绑定成功:{plate}', en: 'Bound: {plate}' },
  bindingDoneHint: { zh: '自 {date} 起发生的交通违法可在“交通违法”中处理。', en: 'Violations from {date} on can be handled under “Violations”.' },
  smsTitle: { zh: '短信验证绑定', en: 'SMS binding' },
  plateNumber: { zh: '号牌号码', en: 'Plate number' },
  plateNumberHint: { zh: '如 粤S12345;可输入小写、空格或“·”', en: 'E.g. 粤S12345; lower case, spaces or “·” are fine' },
  engineSuffix: { zh: '发动机号后六位', en: 'Last six characters of the engine number' },
  engineSuffixHint: { zh: '见行驶证', en: 'Shown on the vehicle licence' },
  normalisedAs: { zh: '将按 {value} 办理', en: 'Will be read as {value}' },
  commonTypes: { zh: '常用', en: 'Common' },
  otherTypes: { zh: '其他号牌种类', en: 'Other plate types' },
  sendOwnerCode: { zh: '发送验证码到车主手机', en: 'Send a code to the owner’s phone' },
  ownerCodeSent: { zh: '验证码已发送至车主手机 {phone}', en: 'A code was sent to the owner’s phone {phone}' },
  ownerCode: { zh: '车主收到的验证码', en: 'The code the owner received' },
  checkCode: { zh: '验证', en: 'Verify the code' },
  eligibilityTitle: { zh: '办理条件检查', en: 'Eligibility check' },
  eligibilityOk: { zh: '按当前规则可以绑定', en: 'The rules allow this binding' },
  eligibilityNo: { zh: '按当前规则不能绑定:', en: 'The rules do not allow this binding:' },
  eligibilityPending: { zh: '填写完整后显示检查结果', en: 'The check appears once the form is complete' },
  serverSaid: { zh: '核对登记信息后的结果', en: 'Checked against the records' },
  serverDiffers: { zh: '核对登记信息后的结果与即时检查不同,以核对结果为准。', en: 'Checked against the records, the answer differs from the instant check; this answer stands.' },

  // Violations.
  violationsTitle: { zh: '交通违法', en: 'Traffic violations' },
  violationsNone: { zh: '没有交通违法记录。', en: 'No violations on record.' },
  vehicleOwn: { zh: '本人车辆', en: 'My vehicle' },
  vehicleBound: { zh: '已绑定车辆', en: 'Bound vehicle' },
  routeOnline: { zh: '可网上处理', en: 'Handle online' },
  routeWindow: { zh: '到窗口处理', en: 'At a window' },
  routeHere: { zh: '可当场处理', en: 'Can be handled here' },
  routeKiosk: { zh: '可在本机办理', en: 'Can be handled at this kiosk' },
  routeViewOnly: { zh: '仅可查询', en: 'View only' },
  routeSettled: { zh: '已处理', en: 'Settled' },
  routeNotTheirs: { zh: '无权查看', en: 'Not yours' },
  bringDocuments: { zh: '请携带:{docs}', en: 'Bring: {docs}' },
  occurredAt: { zh: '违法时间', en: 'When' },
  place: { zh: '地点', en: 'Where' },
  behaviour: { zh: '违法行为', en: 'Offence' },
  pointsLabel: { zh: '记分', en: 'Points' },
  pointsValue: { zh: '{n} 分', en: '{n} points' },
  pointsValueOne: { zh: '{n} 分', en: '{n} point' },
  offenceNoEnglish: { zh: '(违法代码 {code})', en: '(code {code}: no English name on file, so in Chinese)' },
  offenceCode: { zh: '违法代码', en: 'Offence code' },
  stateUnhandled: { zh: '未处理', en: 'Not yet handled' },
  stateDecidedUnpaid: { zh: '已处理,待缴款', en: 'Decided, not yet paid' },
  statePaid: { zh: '已缴款', en: 'Paid' },
  decidedUnpaidText: { zh: '已出具处罚决定书,罚款尚未缴纳。今日应缴 {owed}。', en: 'A penalty decision has been made and the fine is not yet paid. Owed today: {owed}.' },
  decidedLateText: { zh: '已超过缴款期限,每日按罚款的 {rate}% 加收滞纳金。', en: 'The pay-by date has passed: {rate}% of the fine is added each day.' },
  decidedLateCap: { zh: '滞纳金总额不超过罚款本身。', en: 'The late fee never exceeds the fine itself.' },
  decidedPayWhere: { zh: '请携带处罚决定书到交警服务窗口或代收银行缴款。', en: 'Pay at a traffic police service window or a collecting bank, with the penalty decision.' },
  paidText: { zh: '已处理并缴款,无需再办理。', en: 'Handled and paid; nothing more to do.' },
  paidAt: { zh: '缴款时间', en: 'Paid at' },
  paidAmount: { zh: '实缴金额', en: 'Amount paid' },
  decidedAt: { zh: '处理时间', en: 'Decided at' },
  fineLabel: { zh: '罚款', en: 'Fine' },
  lateFeeLabel: { zh: '滞纳金', en: 'Late fee' },
  owedToday: { zh: '今日应缴', en: 'Owed today' },
  dueDate: { zh: '缴款期限', en: 'Pay by' },
  handle: { zh: '处理', en: 'Handle' },
  payFine: { zh: '缴款', en: 'Pay the fine' },
  handleTitle: { zh: '处理交通违法', en: 'Handle a violation' },
  handleConfirmPoints: { zh: '我确认本次违法记 {n} 分,记入我的驾驶证', en: 'I accept {n} points on my driving licence for this violation' },
  payButton: { zh: '支付 {amount}', en: 'Pay {amount}' },
  payMethod: { zh: '支付方式', en: 'Pay with' },
  payMethod_alipay: { zh: '支付宝', en: 'Alipay' },
  payMethod_wechat: { zh: '微信支付', en: 'WeChat Pay' },
  payMethod_unionpay: { zh: '银联云闪付', en: 'UnionPay QuickPass' },
  receiptLink: { zh: '查看缴款回执', en: 'See the receipt' },
  receiptTitle: { zh: '交通违法处理缴款回执', en: 'Traffic violation payment receipt' },
  receiptIntro: { zh: '本回执可打印或保存为 PDF,作为已处理并缴款的凭证。', en: 'Print this receipt or save it as a PDF as proof that the violation is handled and paid.' },
  receiptPrint: { zh: '打印或保存为 PDF', en: 'Print or save as PDF' },
  receiptNotPaid: { zh: '这条交通违法尚未缴款,还没有回执。', en: 'This violation is not paid yet, so there is no receipt.' },
  receiptVehicle: { zh: '号牌号码', en: 'Plate' },
  paidTitle: { zh: '处理完成,已缴款', en: 'Handled and paid' },
  decisionNumber: { zh: '决定书编号', en: 'Decision number' },
  paid: { zh: '已缴款', en: 'Paid' },
  viewViolations: { zh: '查看交通违法', en: 'See violations' },

  // Window console.
  windowTitle: { zh: '窗口业务台', en: 'Window console' },
  windowIntro: { zh: '民警核验原件后,可代为绑定或直接处理非本人机动车的交通违法(窗口无需提前绑定)。', en: 'After checking the originals, an officer can bind on a person’s behalf or handle a violation directly (no binding needed at a window).' },
  windowFindPerson: { zh: '查找驾驶人', en: 'Find a person' },
  windowFindVehicle: { zh: '查找车辆', en: 'Find a vehicle' },
  find: { zh: '查找', en: 'Find' },
  plateTypeAny: { zh: '不限号牌种类', en: 'Any plate type' },
  windowPickVehicle: { zh: '该号码有多种号牌种类,请按行驶证选择:', en: 'This number is registered under several plate types; choose the one on the vehicle licence:' },
  ownerName: { zh: '所有人', en: 'Owner' },
  fullPointsWarning: { zh: '本记分周期已累积记分满12分:驾驶证暂扣,不能再自助处理违法。请告知驾驶人参加满分学习和考试。', en: 'This licence has reached 12 points in its scoring cycle: it is suspended and no violation can be handled by self-service. Tell the driver about the full-points study and test.' },
  notFound: { zh: '未找到', en: 'Nothing found' },
  windowDocuments: { zh: '已核验原件', en: 'Originals checked' },
  windowPersonBindings: { zh: '该驾驶人绑定的车辆', en: 'Vehicles this person has bound' },
  windowVehicleBindings: { zh: '绑定该车的驾驶人', en: 'People who have bound this vehicle' },
  windowNoBindings: { zh: '暂无绑定', en: 'No bindings' },
  windowUnbind: { zh: '窗口解除绑定', en: 'Remove at the window' },
  windowDocumentsNeeded: { zh: '需核验原件', en: 'Originals to check' },
  windowBind: { zh: '代为绑定', en: 'Bind on their behalf' },
  windowHandle: { zh: '窗口处理(无需绑定)', en: 'Handle at the window (no binding)' },
  windowQueue: { zh: '人工审核队列', en: 'Manual-review queue' },
  windowQueueEmpty: { zh: '队列为空', en: 'The queue is empty' },
  approve: { zh: '通过', en: 'Approve' },
  reject: { zh: '驳回', en: 'Reject' },
  officerOnly: { zh: '此页面仅限窗口民警使用', en: 'This page is for window officers only' },
  licence: { zh: '驾驶证', en: 'Driving licence' },

  // Inbox.
  navInbox: { zh: '消息', en: 'Inbox' },
  navInboxUnread: { zh: '消息({n} 条未读)', en: 'Inbox ({n} unread)' },
  inboxTitle: { zh: '消息', en: 'Inbox' },
  inboxNone: { zh: '暂无消息。车辆被绑定或解除绑定时,会在这里通知您。', en: 'No messages. You are told here when a vehicle is bound or a binding is removed.' },
  inboxUnread: { zh: '未读', en: 'Unread' },
  inboxMarkRead: { zh: '标为已读', en: 'Mark as read' },
  inboxMarkAllRead: { zh: '全部标为已读', en: 'Mark all as read' },
  inboxAllRead: { zh: '消息已全部读过', en: 'All messages read' },
  inboxUnreadCount: { zh: '{n} 条未读', en: '{n} unread' },

  // History.
  navHistory: { zh: '绑定记录', en: 'History' },
  historyTitle: { zh: '绑定记录', en: 'Binding history' },
  historyAsBinder: { zh: '我绑定过的车辆', en: 'Vehicles I have bound' },
  historyAsOwner: { zh: '我名下车辆的绑定记录', en: 'Bindings of my vehicles' },
  historyHandled: { zh: '我处理过的交通违法', en: 'Violations I handled' },
  historyHandledHint: { zh: '解除绑定后,您处理过的违法记录仍保留在这里。', en: 'The violations you handled stay here after a binding ends.' },
  historyNone: { zh: '暂无记录', en: 'Nothing yet' },
  historyBoundOn: { zh: '{date} 通过{method}绑定', en: 'Bound on {date} ({method})' },
  historyBinder: { zh: '绑定人:{name}', en: 'Bound by {name}' },
  historyActive: { zh: '绑定中', en: 'Active' },
  historyRemovedBy: { zh: '{date} 由{role}解除', en: 'Removed on {date} by the {role}' },
  historyRemovedBySelf: { zh: '{date} 由您本人解除', en: 'You removed it on {date}' },
  historyRemovedByNamed: { zh: '{date} 由{role} {name} 解除', en: 'Removed on {date} by the {role} {name}' },
  roleBinder: { zh: '绑定人', en: 'binder' },
  roleOwner: { zh: '车主', en: 'owner' },
  roleOfficer: { zh: '窗口民警', en: 'window officer' },
  methodQr: { zh: '扫码', en: 'QR code' },
  methodSms: { zh: '短信验证', en: 'SMS code' },
  methodWindow: { zh: '窗口办理', en: 'a window' },
  handledOn: { zh: '{date} 处理', en: 'Handled on {date}' },

  // Applications: the owner's pending list and the applicant's own.
  pendingTitle: { zh: '待确认的绑定申请', en: 'Applications waiting on my vehicles' },
  pendingHint: { zh: '他人已对您的车辆发起、尚未完成的绑定申请。如不认识申请人,可以撤回。', en: 'Applications others opened on your vehicles that are not finished yet. Withdraw one if you do not know the applicant.' },
  pendingNone: { zh: '没有待确认的申请', en: 'No applications are waiting' },
  pendingBy: { zh: '{name}({phone})通过{method}申请 · {date}', en: '{name} ({phone}) by {method} · {date}' },
  withdraw: { zh: '撤回申请', en: 'Withdraw' },
  withdrawConfirm: { zh: '撤回后该申请将无法继续绑定,确定吗?', en: 'The application cannot go on after this. Withdraw it?' },
  withdrawn: { zh: '已撤回,申请人会收到通知', en: 'Withdrawn; the applicant is told' },
  myApplications: { zh: '我的绑定申请', en: 'My applications' },
  appStatus_awaiting_verification: { zh: '待实人认证', en: 'Waiting for verification' },
  appStatus_in_review: { zh: '人工审核中', en: 'In manual review' },
  appStatus_committed: { zh: '已绑定', en: 'Bound' },
  appStatus_rejected: { zh: '未通过审核', en: 'Not approved' },
  appStatus_withdrawn: { zh: '车主已撤回', en: 'Withdrawn by the owner' },
  uploadPhotoLink: { zh: '上传手持身份证照片,申请人工审核', en: 'Upload an ID photo for manual review' },

  // Manual review: the applicant's upload.
  photoTitle: { zh: '人工审核', en: 'Manual review' },
  photoIntro: { zh: '实人认证未通过时,可上传本人手持居民身份证的照片,由民警人工审核。照片仅审核民警可见。', en: 'When verification did not pass, upload a photo of yourself holding your resident ID card; an officer reviews it. Only the reviewing officer sees the photo.' },
  photoHowTo: { zh: '要求:正面免冠、光线充足,身份证号码和人像清晰可辨;JPEG 或 PNG,不超过 2 MB。', en: 'Face the camera in good light, with the ID number and portrait readable; JPEG or PNG, at most 2 MB.' },
  photoChoose: { zh: '选择照片', en: 'Choose a photo' },
  photoNote: { zh: '补充说明(选填)', en: 'A note for the officer (optional)' },
  photoSubmit: { zh: '提交人工审核', en: 'Send for manual review' },
  photoTooBig: { zh: '照片超过 2 MB,请压缩后再上传', en: 'The photo is over 2 MB; make it smaller first' },
  photoWrongType: { zh: '请选择 JPEG 或 PNG 格式的照片', en: 'Choose a JPEG or PNG photo' },
  photoNeeded: { zh: '请先选择照片', en: 'Choose a photo first' },
  photoSent: { zh: '已提交,民警审核后会通过“消息”通知您', en: 'Sent; you will hear in your inbox once an officer has reviewed it' },
  photoStatus: { zh: '申请状态:{status}', en: 'Status: {status}' },

  // Manual review: the officer's view.
  reviewTitle: { zh: '人工审核', en: 'Manual review' },
  reviewOpen: { zh: '审核', en: 'Review' },
  reviewApplicant: { zh: '申请人', en: 'Applicant' },
  reviewResidentId: { zh: '身份证号码', en: 'Resident ID' },
  reviewNote: { zh: '申请人说明', en: 'Applicant’s note' },
  reviewNoNote: { zh: '(无)', en: '(none)' },
  reviewPhoto: { zh: '手持身份证照片', en: 'Photo with the ID card' },
  reviewPhotoAlt: { zh: '{name} 手持身份证的照片', en: 'Photo of {name} holding the ID card' },
  reviewNoPhoto: { zh: '未上传照片', en: 'No photo uploaded' },
  reviewAudited: { zh: '查看记录已写入审计日志。', en: 'This view is recorded in the audit log.' },
  reviewRejectReason: { zh: '驳回原因', en: 'Reason for rejecting' },
  reviewRejectText: { zh: '补充说明(选“其他”时必填)', en: 'Details (required for “other”)' },
  reviewApproved: { zh: '已通过,绑定已生效', en: 'Approved; the binding is in place' },
  reviewRejected: { zh: '已驳回,申请人会收到通知', en: 'Rejected; the applicant is told' },
  reviewBackToQueue: { zh: '返回审核队列', en: 'Back to the queue' },
  reviewAppliedAt: { zh: '申请时间', en: 'Applied' },
  appStatusVerifyFailed: { zh: '实人认证未通过,可申请人工审核', en: 'Verification did not pass; manual review is open to you' },
};

const STORAGE_KEY = 'renche.lang';
const listeners = new Set();
let current = readSavedLang();

function readSavedLang() {
  try {
    const saved = localStorage.getItem(STORAGE_KEY);
    if (saved === 'zh' || saved === 'en') return saved;
  } catch { /* storage may be blocked; fall back to the default */ }
  return 'zh';
}

/** The current language: 'zh' (default) or 'en'. */
export function lang() {
  return current;
}

export function setLang(next) {
  current = next === 'en' ? 'en' : 'zh';
  try { localStorage.setItem(STORAGE_KEY, current); } catch { /* not fatal */ }
  document.documentElement.lang = current === 'zh' ? 'zh-CN' : 'en';
  for (const fn of listeners) fn(current);
}

export function onLangChange(fn) {
  listeners.add(fn);
  return () => listeners.delete(fn);
}

/** A page string with `{name}` placeholders filled in. */
export function t(key, params = {}) {
  const entry = STRINGS[key];
  if (!entry) {
    console.warn(`missing string ${key}`);
    return key;
  }
  return entry[current].replace(/\{(\w+)\}/g, (_, name) => (name in params ? String(params[name]) : `{${name}}`));
}

/** Picks the current language from a `{zh, en}` message, or from a pair of fields such as nameZh/nameEn. */
export function pick(message, base) {
  if (message == null) return '';
  if (base) return message[`${base}${current === 'zh' ? 'Zh' : 'En'}`] ?? '';
  if (typeof message === 'string') return message;
  return message[current] ?? message.zh ?? message.en ?? '';
}

export const STRING_KEYS = Object.keys(STRINGS);

/** Keys missing a language, or whose two texts use different placeholders (checked by the tests). */
export function untranslated() {
  const names = (text) => [...text.matchAll(/\{(\w+)\}/g)].map((m) => m[1]).sort().join();
  return STRING_KEYS.filter((key) => {
    const { zh, en } = STRINGS[key];
    return !zh || !en || names(zh) !== names(en);
  });
}
